package clickhouse

import (
	"strings"
)

// SchemaOptions choose the DDL Schema returns.
type SchemaOptions struct {
	// Database holds the tables; "" is "default". Schema creates it.
	Database string
	// Cluster, when set, names the cluster (remote_servers) the tables
	// are created on: ON CLUSTER, Replicated engines (ZooKeeper or
	// ClickHouse Keeper, and the {shard} and {replica} macros, on every
	// node) and a Distributed table over the shards. "" is one server.
	Cluster string
}

// Times are Int64 Unix milliseconds in every table. ClickHouse 18.16 has
// no DateTime64 (it came with 20.1) and DateTime counts whole seconds,
// while the SQLite store keeps milliseconds (PocketBase's dates) and
// figures such as a session's duration round them: one integer column
// keeps them exact, orders and compares like the time, converts with
// toDateTime(intDiv(t, 1000), 'UTC') where a date function is wanted,
// and reads the same on 18.16 and current releases. Signed, so that
// differences of times are never wrapped unsigned numbers. Bind and
// Insert write a time.Time this way. Partitions are months in UTC, not in
// the server's time zone.

// table is one table of the store: its columns, in the PocketBase
// collection's field names and order, and how its rows are kept.
type table struct {
	name    string
	columns [][2]string // name, type
	// engine is the single-server engine: MergeTree or
	// ReplacingMergeTree(version); Replicated is put before it on a
	// cluster
	engine      string
	partitionBy string
	orderBy     string
	// shardBy is the Distributed table's sharding key
	shardBy string
}

// tables are the tables of the events store; every ORDER BY starts with
// website, since every query reads one website.
var tables = []table{{
	// events: immutable rows. ORDER BY (website, timestamp): every stats
	// query reads one website over a time range, which this key makes one
	// contiguous range of each part; a millisecond time leaves nothing for
	// further key columns to order. Sharded by session, like sessions by
	// id, so that a session and its events are on the same shard and a
	// join of the two stays local to it.
	name: "events",
	columns: [][2]string{
		{"id", "String"},
		{"session", "String"},
		{"type", "String"},
		{"path", "String"},
		{"eventName", "String"},
		{"eventData", "String"}, // JSON text, "" without
		{"website", "String"},
		{"timestamp", "Int64"},
		{"engagedMs", "UInt64"},
		{"scrollDepth", "UInt8"},
		{"revenueAmount", "Int64"},
		{"revenueCurrency", "String"},
		{"orderId", "String"},
		{"created", "Int64"},
		{"updated", "Int64"},
		// batch names the writer's outbox record the row came in
		// (chstore): rows are immutable, so a record shipped twice
		// after a crash is found by it and not counted twice
		{"batch", "String"},
	},
	engine:      "MergeTree",
	partitionBy: "toYYYYMM(toDateTime(intDiv(timestamp, 1000), 'UTC'))",
	orderBy:     "(website, timestamp)",
	shardBy:     "cityHash64(session)",
}, {
	// sessions: a session is written again each time it changes, with a
	// higher version; merges keep the highest, and readers, since merges
	// are eventual, read FROM sessions FINAL: on 18.16 it took 63 ms
	// where argMax(column, version) GROUP BY id took 280 ms, for 200 000
	// sessions of two versions (BenchmarkSessionsLatest). FINAL collapses
	// within a partition only: sessions are partitioned by the month of
	// created, which no version changes (startedAt moves earlier when a
	// late event arrives). Filter FINAL with WHERE, never PREWHERE on a
	// column a version changes: PREWHERE filters before the versions
	// collapse (measured on 18.16: the first version of a session
	// matched a PREWHERE that its latest does not).
	name: "sessions",
	columns: [][2]string{
		{"id", "String"},
		{"website", "String"},
		{"visitor", "String"},
		{"browser", "String"},
		{"os", "String"},
		{"device", "String"},
		{"screenWidth", "String"},
		{"screenHeight", "String"},
		{"language", "String"},
		{"entryPath", "String"},
		{"exitPath", "String"},
		{"referrer", "String"},
		{"country", "String"},
		{"state", "String"},
		{"ipAddress", "String"},
		{"isNewVisitor", "UInt8"},
		{"lastActivity", "Int64"},
		{"startedAt", "Int64"},
		{"seq", "UInt32"},
		{"utm", "String"}, // JSON text, "" without
		{"eventCount", "UInt32"},
		{"isEngaged", "UInt8"},
		{"source", "String"},
		{"channel", "String"},
		{"engagedMs", "UInt64"},
		{"created", "Int64"},
		{"updated", "Int64"},
		// version orders a session's rows: higher for every write
		// (ReplacingMergeTree's version is unsigned)
		{"version", "UInt64"},
	},
	engine:      "ReplacingMergeTree(version)",
	partitionBy: "toYYYYMM(toDateTime(intDiv(created, 1000), 'UTC'))",
	orderBy:     "(website, id)",
	shardBy:     "cityHash64(id)",
}, {
	// js_errors: in SQLite one row per error group whose count the writer
	// increments; here one row per group and batch of the writer, count
	// being that batch's occurrences: readers sum(count) and take
	// max(lastSeen) GROUP BY website, errorHash. Sharded by group, so
	// that a group's rows add up on one shard.
	name: "js_errors",
	columns: [][2]string{
		{"id", "String"},
		{"website", "String"},
		{"session", "String"},
		{"errorHash", "String"},
		{"errorMessage", "String"},
		{"stackTrace", "String"},
		{"url", "String"},
		{"count", "UInt64"},
		{"lastSeen", "Int64"},
		{"created", "Int64"},
		{"updated", "Int64"},
		{"batch", "String"}, // as events'
	},
	engine:      "MergeTree",
	partitionBy: "toYYYYMM(toDateTime(intDiv(lastSeen, 1000), 'UTC'))",
	orderBy:     "(website, errorHash, lastSeen)",
	shardBy:     "cityHash64(website, errorHash)",
}, {
	// engagement: a page view's engaged time and deepest scroll, which
	// its beacons raise after the events row is written (in SQLite an
	// update of that row). Events are immutable here, so each raise is a
	// row with a higher version; readers take the latest (FINAL) per
	// event and join it to the page views. Partitioned by the month of
	// the page view, which no version changes.
	name: "engagement",
	columns: [][2]string{
		{"website", "String"},
		{"event", "String"},
		{"session", "String"},
		{"timestamp", "Int64"}, // the page view's
		{"engagedMs", "UInt64"},
		{"scrollDepth", "UInt8"},
		{"version", "UInt64"},
	},
	engine:      "ReplacingMergeTree(version)",
	partitionBy: "toYYYYMM(toDateTime(intDiv(timestamp, 1000), 'UTC'))",
	orderBy:     "(website, event)",
	shardBy:     "cityHash64(session)",
}}

// Schema returns the statements that create the events store's database
// and tables, in order; each is IF NOT EXISTS, so running them again
// changes nothing. Retention drops a table's monthly partitions.
//
// On one server the tables are events, sessions and js_errors. On a
// cluster each is <table>_local, replicated within its shard (ZooKeeper
// path /clickhouse/tables/{shard}/<database>/<table>), and <table> is a
// Distributed table over them that readers and the writer use.
func Schema(o SchemaOptions) []string {
	db := o.Database
	if db == "" {
		db = "default"
	}
	onCluster := ""
	if o.Cluster != "" {
		onCluster = mustBind(" ON CLUSTER ?", Ident(o.Cluster))
	}
	stmts := []string{mustBind("CREATE DATABASE IF NOT EXISTS ?", Ident(db)) + onCluster}
	for _, t := range tables {
		var cols strings.Builder
		for i, c := range t.columns {
			if i > 0 {
				cols.WriteString(",\n")
			}
			cols.WriteString("    " + mustBind("?", Ident(c[0])) + " " + c[1])
		}
		local, engine := t.name, t.engine
		if o.Cluster != "" {
			local = t.name + "_local"
			engine = "Replicated" + strings.Replace(engine, "(", "(?, '{replica}', ", 1)
			if !strings.Contains(engine, "(") {
				engine += "(?, '{replica}')"
			}
			engine = mustBind(engine, "/clickhouse/tables/{shard}/"+db+"/"+t.name)
		}
		stmts = append(stmts, mustBind("CREATE TABLE IF NOT EXISTS ?.?", Ident(db), Ident(local))+onCluster+" (\n"+
			cols.String()+"\n) ENGINE = "+engine+
			"\nPARTITION BY "+t.partitionBy+
			"\nORDER BY "+t.orderBy)
		if o.Cluster != "" {
			stmts = append(stmts, mustBind("CREATE TABLE IF NOT EXISTS ?.?", Ident(db), Ident(t.name))+onCluster+
				mustBind(" AS ?.?", Ident(db), Ident(local))+
				mustBind("\nENGINE = Distributed(?, ?, ?, ", o.Cluster, db, local)+t.shardBy+")")
		}
	}
	return stmts
}

// mustBind is Bind for the DDL's own statements, whose arguments always
// fit their placeholders.
func mustBind(query string, args ...any) string {
	q, err := Bind(query, args...)
	if err != nil {
		panic(err)
	}
	return q
}

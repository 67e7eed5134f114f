CREATE DATABASE IF NOT EXISTS `skopos` ON CLUSTER `analytics`;

CREATE TABLE IF NOT EXISTS `skopos`.`events_local` ON CLUSTER `analytics` (
    `id` String,
    `session` String,
    `type` String,
    `path` String,
    `eventName` String,
    `eventData` String,
    `website` String,
    `timestamp` Int64,
    `engagedMs` UInt64,
    `scrollDepth` UInt8,
    `revenueAmount` Int64,
    `revenueCurrency` String,
    `orderId` String,
    `created` Int64,
    `updated` Int64,
    `batch` String
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/skopos/events', '{replica}')
PARTITION BY toYYYYMM(toDateTime(intDiv(timestamp, 1000), 'UTC'))
ORDER BY (website, timestamp);

CREATE TABLE IF NOT EXISTS `skopos`.`events` ON CLUSTER `analytics` AS `skopos`.`events_local`
ENGINE = Distributed('analytics', 'skopos', 'events_local', cityHash64(session));

CREATE TABLE IF NOT EXISTS `skopos`.`sessions_local` ON CLUSTER `analytics` (
    `id` String,
    `website` String,
    `visitor` String,
    `browser` String,
    `os` String,
    `device` String,
    `screenWidth` String,
    `screenHeight` String,
    `language` String,
    `entryPath` String,
    `exitPath` String,
    `referrer` String,
    `country` String,
    `state` String,
    `ipAddress` String,
    `isNewVisitor` UInt8,
    `lastActivity` Int64,
    `startedAt` Int64,
    `seq` UInt32,
    `utm` String,
    `eventCount` UInt32,
    `isEngaged` UInt8,
    `source` String,
    `channel` String,
    `engagedMs` UInt64,
    `created` Int64,
    `updated` Int64,
    `version` UInt64
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/skopos/sessions', '{replica}', version)
PARTITION BY toYYYYMM(toDateTime(intDiv(created, 1000), 'UTC'))
ORDER BY (website, id);

CREATE TABLE IF NOT EXISTS `skopos`.`sessions` ON CLUSTER `analytics` AS `skopos`.`sessions_local`
ENGINE = Distributed('analytics', 'skopos', 'sessions_local', cityHash64(id));

CREATE TABLE IF NOT EXISTS `skopos`.`js_errors_local` ON CLUSTER `analytics` (
    `id` String,
    `website` String,
    `session` String,
    `errorHash` String,
    `errorMessage` String,
    `stackTrace` String,
    `url` String,
    `count` UInt64,
    `lastSeen` Int64,
    `created` Int64,
    `updated` Int64,
    `batch` String
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/skopos/js_errors', '{replica}')
PARTITION BY toYYYYMM(toDateTime(intDiv(lastSeen, 1000), 'UTC'))
ORDER BY (website, errorHash, lastSeen);

CREATE TABLE IF NOT EXISTS `skopos`.`js_errors` ON CLUSTER `analytics` AS `skopos`.`js_errors_local`
ENGINE = Distributed('analytics', 'skopos', 'js_errors_local', cityHash64(website, errorHash));

CREATE TABLE IF NOT EXISTS `skopos`.`engagement_local` ON CLUSTER `analytics` (
    `website` String,
    `event` String,
    `session` String,
    `timestamp` Int64,
    `engagedMs` UInt64,
    `scrollDepth` UInt8,
    `version` UInt64
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/skopos/engagement', '{replica}', version)
PARTITION BY toYYYYMM(toDateTime(intDiv(timestamp, 1000), 'UTC'))
ORDER BY (website, event);

CREATE TABLE IF NOT EXISTS `skopos`.`engagement` ON CLUSTER `analytics` AS `skopos`.`engagement_local`
ENGINE = Distributed('analytics', 'skopos', 'engagement_local', cityHash64(session));

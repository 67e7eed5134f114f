// Package uptime monitors websites' home pages: a check every interval
// (with jitter, a bounded number in flight), incidents opened by a failed
// check and resolved by a confirmed recovery, the checks rolled up per day
// and pruned, and the report the dashboard and the REST API show.
package uptime

package chtest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
)

// User and Password are a second user of the server, with a password,
// for tests of authentication; Database's clients use the default user,
// which has none.
const (
	User     = "chtest_user"
	Password = "chtest pass'word"
)

// writeConfig writes the server's config.xml and users.xml into dir: its
// data, temp, user files and format schema directories there, a log file
// there (warnings and worse), the given ports on 127.0.0.1 only, small
// caches (the default mark cache is 5 GiB), and the Cluster of one shard,
// itself. The root element is <yandex>, which current releases still
// read.
func writeConfig(dir string, httpPort, tcpPort, interserverPort int) error {
	x := func(s string) string {
		var b bytes.Buffer
		xml.EscapeText(&b, []byte(s))
		return b.String()
	}
	sub := func(name string) string { return x(filepath.Join(dir, name) + "/") }
	config := fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>%[1]s</log>
    <errorlog>%[2]s</errorlog>
    <size>10M</size>
    <count>1</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>%[3]d</http_port>
  <tcp_port>%[4]d</tcp_port>
  <interserver_http_port>%[5]d</interserver_http_port>
  <path>%[6]s</path>
  <tmp_path>%[7]s</tmp_path>
  <user_files_path>%[8]s</user_files_path>
  <format_schema_path>%[9]s</format_schema_path>
  <users_config>%[10]s</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <!-- current releases; 18.16 ignores it (its profile's max_memory_usage bounds each query) -->
  <max_server_memory_usage>2147483648</max_server_memory_usage>
  <remote_servers>
    <%[11]s>
      <shard><replica><host>127.0.0.1</host><port>%[4]d</port></replica></shard>
    </%[11]s>
  </remote_servers>
</yandex>
`, x(filepath.Join(dir, "server.log")), x(filepath.Join(dir, "server.err.log")),
		httpPort, tcpPort, interserverPort,
		sub("data"), sub("tmp"), sub("user_files"), sub("format_schemas"),
		x(filepath.Join(dir, "users.xml")), Cluster)
	users := fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>1000000000</max_memory_usage>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
    <%[1]s>
      <password>%[2]s</password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </%[1]s>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
`, User, x(Password))
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), []byte(config), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "users.xml"), []byte(users), 0o600)
}

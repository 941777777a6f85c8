/* Unit tests of providers/static_config: defaults, every decoded key, errors and warnings. */
#include <errno.h>
#include <sys/socket.h>

#include "providers/static_config.h"
#include "tests/unit/providers/helpers.h"

static struct diags d;
static struct static_config c;

static void setup(void)
{
    diags_init(&d);
    static_config_defaults(&c);
}

static void teardown(void)
{
    static_config_fini(&c);
    diags_fini(&d);
}

static int load(const char *yaml)
{
    return static_config_load_string(&c, "static.yaml", yaml, strlen(yaml), &d);
}

START_TEST(defaults)
{
    ck_assert_str_eq(c.source_file, "");
    ck_assert_uint_eq(c.n_entrypoints, 1);
    const struct entrypoint_config *ep = &c.entrypoints[0];
    ck_assert_str_eq(ep->name, "web");
    ck_assert_str_eq(ep->address, ":8080");
    ck_assert_str_eq(ep->host, "");
    ck_assert_uint_eq(ep->port, 8080);
    ck_assert(!ep->as_default);
    ck_assert_uint_eq(ep->read_timeout_ms, 60000);
    ck_assert_uint_eq(ep->write_timeout_ms, 0);
    ck_assert_uint_eq(ep->idle_timeout_ms, 180000);
    ck_assert_uint_eq(ep->read_header_timeout_ms, 10000);
    ck_assert_uint_eq(ep->grace_timeout_ms, 10000);
    ck_assert_uint_eq(ep->request_accept_grace_timeout_ms, 0);
    ck_assert_uint_eq(ep->keepalive_max_requests, 0);
    ck_assert_uint_eq(ep->keepalive_max_time_ms, 0);
    ck_assert(!ep->forwarded_insecure);
    ck_assert_uint_eq(ep->n_trusted_ips, 0);
    ck_assert_uint_eq(ep->max_header_bytes, 64 * 1024);
    ck_assert_uint_eq(ep->max_request_line_bytes, 8 * 1024);
    ck_assert_uint_eq(ep->max_header_field_bytes, 8 * 1024);
    ck_assert_uint_eq(ep->max_header_count, 100);
    ck_assert_uint_eq(ep->max_request_body_bytes, 0);
    ck_assert_uint_eq(c.transport.max_idle_conns_per_host, 200);
    ck_assert_uint_eq(c.transport.dial_timeout_ms, 30000);
    ck_assert_uint_eq(c.transport.response_header_timeout_ms, 60000);
    ck_assert_uint_eq(c.transport.idle_conn_timeout_ms, 90000);
    ck_assert(!c.file.enabled);
    ck_assert_ptr_null(c.file.filename);
    ck_assert_ptr_null(c.file.directory);
    ck_assert(c.file.watch); /* Traefik's default */
    ck_assert_uint_eq(c.providers_throttle_ms, 2000);
    ck_assert_str_eq(c.admin_address, "127.0.0.1:9900");
    ck_assert_ptr_null(c.admin_token_file);
    ck_assert_str_eq(c.node_id, "n1");
    ck_assert_str_eq(c.data_dir, "./concord-data");
    ck_assert_str_eq(c.raft_address, "127.0.0.1:9901");
    ck_assert_uint_eq(c.n_bootstrap, 0);
    ck_assert_ptr_null(c.join);
    ck_assert_ptr_null(c.secret_file);
    ck_assert_ptr_null(c.advertise_address);
    ck_assert_uint_eq(c.workers, 0);
    ck_assert_str_eq(c.log_level, "INFO");
}
END_TEST

START_TEST(empty_file_keeps_defaults)
{
    ck_assert_int_eq(load(""), 0);
    ck_assert_uint_eq(c.n_entrypoints, 1);
    ck_assert_int_eq(load("entryPoints: {}\n"), 0);
    ck_assert_uint_eq(c.n_entrypoints, 1);
    ck_assert_str_eq(c.entrypoints[0].name, "web");
    ck_assert_str_eq(c.source_file, "static.yaml");
    ck_assert_uint_eq(d.n, 0);
}
END_TEST

static const char every_key[] = "entryPoints:\n"
                                "  web:\n"
                                "    address: \"127.0.0.1:8081\"\n"
                                "    asDefault: true\n"
                                "    transport:\n"
                                "      lifeCycle:\n"
                                "        requestAcceptGraceTimeout: 5s\n"
                                "        graceTimeOut: 20s\n"
                                "      respondingTimeouts:\n"
                                "        readTimeout: 30s\n"
                                "        writeTimeout: 15s\n"
                                "        idleTimeout: 90s\n"
                                "        readHeaderTimeout: 3s\n"
                                "      keepAliveMaxTime: 1m\n"
                                "      keepAliveMaxRequests: 1000\n"
                                "    forwardedHeaders:\n"
                                "      insecure: true\n"
                                "      trustedIPs: [\"10.0.0.0/8\", \"::1\"]\n"
                                "    http:\n"
                                "      maxHeaderBytes: 32768\n"
                                "      maxRequestLineBytes: 4096\n"
                                "      maxHeaderFieldBytes: 2048\n"
                                "      maxHeaderCount: 50\n"
                                "      maxRequestBodyBytes: 1048576\n"
                                "  v6:\n"
                                "    address: \"[::1]:0/tcp\"\n"
                                "serversTransport:\n"
                                "  maxIdleConnsPerHost: 10\n"
                                "  forwardingTimeouts:\n"
                                "    dialTimeout: 5s\n"
                                "    responseHeaderTimeout: 0\n"
                                "    idleConnTimeout: 30\n"
                                "providers:\n"
                                "  providersThrottleDuration: 500ms\n"
                                "  file:\n"
                                "    directory: dyn\n"
                                "    watch: true\n"
                                "log:\n"
                                "  level: debug\n"
                                "admin:\n"
                                "  address: \"127.0.0.1:0\"\n"
                                "  tokenFile: secrets/token\n"
                                "cluster:\n"
                                "  nodeId: n2\n"
                                "  dataDir: /var/lib/concord\n"
                                "  raftAddress: \"10.0.0.2:9901\"\n"
                                "  bootstrap: [\"n1=10.0.0.1:9901\", \"n2=10.0.0.2:9901\"]\n"
                                "  join: \"10.0.0.1:9900\"\n"
                                "  secretFile: cluster.secret\n"
                                "  advertiseAddress: \"node2.example:9901\"\n"
                                "workers: 4\n";

static void check_every_key_entrypoints(void)
{
    ck_assert_uint_eq(c.n_entrypoints, 2);
    const struct entrypoint_config *ep = &c.entrypoints[0];
    ck_assert_str_eq(ep->name, "web");
    ck_assert_str_eq(ep->address, "127.0.0.1:8081");
    ck_assert_str_eq(ep->host, "127.0.0.1");
    ck_assert_uint_eq(ep->port, 8081);
    ck_assert(ep->as_default);
    ck_assert_uint_eq(ep->request_accept_grace_timeout_ms, 5000);
    ck_assert_uint_eq(ep->grace_timeout_ms, 20000);
    ck_assert_uint_eq(ep->read_timeout_ms, 30000);
    ck_assert_uint_eq(ep->write_timeout_ms, 15000);
    ck_assert_uint_eq(ep->idle_timeout_ms, 90000);
    ck_assert_uint_eq(ep->read_header_timeout_ms, 3000);
    ck_assert_uint_eq(ep->keepalive_max_time_ms, 60000);
    ck_assert_uint_eq(ep->keepalive_max_requests, 1000);
    ck_assert(ep->forwarded_insecure);
    ck_assert_uint_eq(ep->n_trusted_ips, 2);
    ck_assert_int_eq(ep->trusted_ips[0].family, AF_INET);
    ck_assert_uint_eq(ep->trusted_ips[0].prefix, 8);
    ck_assert_int_eq(ep->trusted_ips[1].family, AF_INET6);
    ck_assert_uint_eq(ep->trusted_ips[1].prefix, 128);
    ck_assert_uint_eq(ep->max_header_bytes, 32768);
    ck_assert_uint_eq(ep->max_request_line_bytes, 4096);
    ck_assert_uint_eq(ep->max_header_field_bytes, 2048);
    ck_assert_uint_eq(ep->max_header_count, 50);
    ck_assert_uint_eq(ep->max_request_body_bytes, 1048576);
    ep = &c.entrypoints[1];
    ck_assert_str_eq(ep->name, "v6");
    ck_assert_str_eq(ep->address, "[::1]:0/tcp");
    ck_assert_str_eq(ep->host, "::1");
    ck_assert_uint_eq(ep->port, 0);
    ck_assert_uint_eq(ep->read_timeout_ms, 60000); /* defaults per entry point */
}

START_TEST(every_decoded_key)
{
    char *dir = make_tmpdir(), sub[512], path[600], want[700];
    snprintf(sub, sizeof sub, "%s/conf", dir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    write_file(sub, "static.yaml", every_key);
    snprintf(path, sizeof path, "%s/static.yaml", sub);

    ck_assert_int_eq(static_config_load(&c, path, &d), 0);
    ck_assert_uint_eq(d.n, 0);
    ck_assert_str_eq(c.source_file, path);
    check_every_key_entrypoints();
    ck_assert_uint_eq(c.transport.max_idle_conns_per_host, 10);
    ck_assert_uint_eq(c.transport.dial_timeout_ms, 5000);
    ck_assert_uint_eq(c.transport.response_header_timeout_ms, 0);
    ck_assert_uint_eq(c.transport.idle_conn_timeout_ms, 30000);
    ck_assert_uint_eq(c.providers_throttle_ms, 500);
    ck_assert(c.file.enabled);
    ck_assert(c.file.watch);
    snprintf(want, sizeof want, "%s/dyn", sub);
    ck_assert_str_eq(c.file.directory, want);
    ck_assert_str_eq(c.log_level, "DEBUG");
    ck_assert_str_eq(c.admin_address, "127.0.0.1:0");
    snprintf(want, sizeof want, "%s/secrets/token", sub);
    ck_assert_str_eq(c.admin_token_file, want);
    ck_assert_str_eq(c.node_id, "n2");
    ck_assert_str_eq(c.data_dir, "/var/lib/concord");
    ck_assert_str_eq(c.raft_address, "10.0.0.2:9901");
    ck_assert_uint_eq(c.n_bootstrap, 2);
    ck_assert_str_eq(c.bootstrap[1], "n2=10.0.0.2:9901");
    ck_assert_str_eq(c.join, "10.0.0.1:9900");
    snprintf(want, sizeof want, "%s/cluster.secret", sub);
    ck_assert_str_eq(c.secret_file, want);
    ck_assert_str_eq(c.advertise_address, "node2.example:9901");
    ck_assert_uint_eq(c.workers, 4);
    remove_tree(dir);
    free(dir);
}
END_TEST

START_TEST(relative_paths)
{
    const char *y = "providers:\n  file:\n    filename: dyn.yaml\n";
    ck_assert_int_eq(static_config_load_string(&c, "static.yaml", y, strlen(y), &d), 0);
    ck_assert_str_eq(c.file.filename, "dyn.yaml"); /* no folder: relative to the cwd */
    ck_assert_int_eq(static_config_load_string(&c, "/etc/concord/s.yaml", y, strlen(y), &d), 0);
    ck_assert_str_eq(c.file.filename, "/etc/concord/dyn.yaml");
    ck_assert_int_eq(static_config_load_string(&c, "/s.yaml", y, strlen(y), &d), 0);
    ck_assert_str_eq(c.file.filename, "/dyn.yaml");
    ck_assert_int_eq(static_config_load_string(&c, "conf/s.yaml", y, strlen(y), &d), 0);
    ck_assert_str_eq(c.file.filename, "conf/dyn.yaml");
    y = "providers:\n  file:\n    filename: /abs/dyn.yaml\n";
    ck_assert_int_eq(static_config_load_string(&c, "/etc/s.yaml", y, strlen(y), &d), 0);
    ck_assert_str_eq(c.file.filename, "/abs/dyn.yaml");
    ck_assert_uint_eq(d.n, 0);
}
END_TEST

START_TEST(http_provider_tls)
{
    const char *y = "providers:\n  http:\n    endpoint: https://cfg.test:8443/c\n    tls:\n"
                    "      ca: ca.pem\n      cert: /abs/c.pem\n      key: k.pem\n"
                    "      insecureSkipVerify: true\n";
    ck_assert_int_eq(static_config_load_string(&c, "/etc/concord/s.yaml", y, strlen(y), &d), 0);
    ck_assert(c.http.tls.set);
    ck_assert_str_eq(c.http.tls.ca, "/etc/concord/ca.pem");
    ck_assert_str_eq(c.http.tls.cert, "/abs/c.pem");
    ck_assert_str_eq(c.http.tls.key, "/etc/concord/k.pem");
    ck_assert(c.http.tls.insecure_skip_verify);
    ck_assert_uint_eq(d.n, 0);
    ck_assert_int_eq(load("providers:\n  http:\n    endpoint: https://a.test/\n    tls:\n"
                          "      cert: c.pem\n"),
                     -EINVAL);
    ck_assert(has_diag(&d, "static.yaml:4:5: providers.http.tls: cert and key go together"));
    ck_assert_int_eq(load("providers:\n  http:\n    endpoint: ftp://a.test/\n"), -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "expected an http:// or https:// URL"));
    ck_assert_int_eq(load("providers:\n  http:\n    endpoint: http://a.test/\n"
                          "    pollInterval: 0s\n"),
                     -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "providers.http: pollInterval must be more than 0"));
}
END_TEST

START_TEST(unknown_key_exact_text)
{
    ck_assert_int_eq(load("workers: 2\nentryPoints:\n  web:\n    adress: \":80\"\n"), -EINVAL);
    ck_assert(has_diag(&d, "static.yaml:4:5: entryPoints.web.adress: unknown key"));
    ck_assert(has_diag(&d, "static.yaml:3:3: entryPoints.web: address is required"));
    ck_assert_uint_eq(d.nerrors, 2);
}
END_TEST

START_TEST(unknown_top_level_and_nested)
{
    ck_assert_int_eq(load("provider:\n  file: {}\nlog:\n  levle: INFO\n"), -EINVAL);
    ck_assert(has_diag(&d, "static.yaml:1:1: provider: unknown key"));
    ck_assert(has_diag(&d, "static.yaml:4:3: log.levle: unknown key"));
}
END_TEST

START_TEST(recognised_keys_warn)
{
    ck_assert_int_eq(load("entryPoints:\n"
                          "  web:\n"
                          "    address: \":80\"\n"
                          "    reusePort: true\n"
                          "api:\n"
                          "  insecure: true\n"
                          "providers:\n"
                          "  swarm:\n"
                          "    exposedByDefault: false\n"),
                     0);
    ck_assert(has_diag(&d, "static.yaml:4:5: entryPoints.web.reusePort: recognised Traefik key, "
                           "not supported yet (warning)"));
    ck_assert(has_diag(&d, "static.yaml:5:1: api: recognised Traefik key, not supported yet "
                           "(warning)"));
    ck_assert(has_diag(&d, "static.yaml:8:3: providers.swarm: recognised Traefik key, not "
                           "supported yet (warning)"));
    ck_assert_uint_eq(d.n, 3);
    ck_assert_uint_eq(d.nerrors, 0);
}
END_TEST

START_TEST(typo_inside_recognised_key)
{
    ck_assert_int_eq(load("api:\n  insecur: true\nproviders:\n  docker:\n    tls: {caa: x}\n"),
                     -EINVAL);
    ck_assert(has_diag(&d, "static.yaml:2:3: api.insecur: unknown key"));
    ck_assert(has_diag(&d, "static.yaml:5:11: providers.docker.tls.caa: unknown key"));
}
END_TEST

START_TEST(type_errors)
{
    ck_assert_int_eq(load("workers: abc\n"
                          "entryPoints: [web]\n"
                          "serversTransport:\n"
                          "  forwardingTimeouts:\n"
                          "    dialTimeout: soon\n"
                          "admin: \"127.0.0.1:1\"\n"),
                     -EINVAL);
    ck_assert(has_diag(&d, "static.yaml:1:10: workers: expected an integer, got \"abc\""));
    ck_assert(has_diag(&d, "static.yaml:2:14: entryPoints: expected a map, got a list"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR,
                           "static.yaml:5:18: serversTransport.forwardingTimeouts.dialTimeout: "
                           "invalid duration \"soon\""));
    ck_assert(has_diag(&d, "static.yaml:6:8: admin: expected a map, got a string"));
    ck_assert_uint_eq(d.nerrors, 4);
}
END_TEST

START_TEST(ranges)
{
    ck_assert_int_eq(load("workers: 5000\nentryPoints:\n  web:\n    address: :1\n"
                          "    http: {maxHeaderCount: 0}\n"),
                     -EINVAL);
    ck_assert(has_diag(&d, "static.yaml:1:10: workers: 5000 is out of range (0 to 4096)"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "entryPoints.web.http.maxHeaderCount: 0 is out of"));
}
END_TEST

START_TEST(top_level_not_a_map)
{
    ck_assert_int_eq(load("- a\n"), -EINVAL);
    ck_assert(has_diag(&d, "static.yaml:1:1: the top level must be a map, got a list"));
}
END_TEST

START_TEST(dynamic_section_in_static_file)
{
    ck_assert_int_eq(load("http:\n  routers: {}\n"), -EINVAL);
    ck_assert(has_diag(&d, "static.yaml:1:1: http: unknown key (dynamic configuration belongs in "
                           "a file read by providers.file)"));
}
END_TEST

START_TEST(udp_entry_point_refused)
{
    ck_assert_int_eq(load("entryPoints:\n  dns:\n    address: \":53/udp\"\n"), -EINVAL);
    ck_assert(has_diag(&d, "static.yaml:3:14: entryPoints.dns.address: UDP entry points are not "
                           "supported (\":53/udp\")"));
}
END_TEST

START_TEST(bad_address)
{
    ck_assert_int_eq(load("entryPoints:\n  web:\n    address: foobar\n"), -EINVAL);
    ck_assert(has_diag(&d, "static.yaml:3:14: entryPoints.web.address: invalid address "
                           "\"foobar\" (want [host]:port, e.g. \":8080\", \"127.0.0.1:8080\" or "
                           "\"[::1]:8080\")"));
    /* The failed config is still complete enough to free and inspect. */
    ck_assert_str_eq(c.entrypoints[0].address, "");
}
END_TEST

START_TEST(parse_address)
{
    static const struct {
        const char *in;
        const char *host;
        unsigned port;
    } ok[] = {{":8080", "", 8080},
              {"127.0.0.1:8080", "127.0.0.1", 8080},
              {"[::1]:8080", "::1", 8080},
              {"localhost:0", "localhost", 0},
              {":443/tcp", "", 443},
              {"[fe80::1%eth0]:80", "fe80::1%eth0", 80},
              {"my-host.lan:65535", "my-host.lan", 65535}};
    static const char *const bad[] = {"foobar",    ":",           "::1:80",  "[::1]",   "[::1]80",
                                      ":65536",    "1.2.3.4:abc", ":53/udp", "",        "a b:80",
                                      "[nope]:80", ":80/sctp",    ":-1",     ":123456", "[]:80"};
    char host[64];
    uint16_t port;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ck_assert_msg(static_config_parse_address(ok[i].in, host, sizeof host, &port) == 0, "%s",
                      ok[i].in);
        ck_assert_str_eq(host, ok[i].host);
        ck_assert_uint_eq(port, ok[i].port);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(static_config_parse_address(bad[i], host, sizeof host, &port) == -EINVAL,
                      "%s", bad[i]);
    }
    ck_assert_int_eq(static_config_parse_address("very-long-host-name:80", host, 8, &port),
                     -EINVAL);
}
END_TEST

START_TEST(trusted_ips_errors)
{
    ck_assert_int_eq(load("entryPoints:\n  web:\n    address: :80\n    forwardedHeaders:\n"
                          "      trustedIPs:\n        - 10.0.0.0/8\n        - 10.0.0.0/33\n"),
                     -EINVAL);
    ck_assert(has_diag(&d, "static.yaml:7:11: entryPoints.web.forwardedHeaders.trustedIPs[1]: "
                           "invalid IP address or CIDR range \"10.0.0.0/33\""));
    ck_assert_int_eq(load("entryPoints:\n  web:\n    address: :80\n    forwardedHeaders:\n"
                          "      trustedIPs: \"10.0.0.1, 192.168.0.0/16\"\n"),
                     0);
    ck_assert_uint_eq(c.entrypoints[0].n_trusted_ips, 2);
}
END_TEST

START_TEST(cluster_errors)
{
    ck_assert_int_eq(load("cluster:\n"
                          "  nodeId: \"a b\"\n"
                          "  raftAddress: \":0\"\n"
                          "  bootstrap: [\"n1=10.0.0.1:9901\", \"n2\", \"=1.2.3.4:1\"]\n"
                          "  join: nowhere\n"
                          "admin:\n"
                          "  address: \":0\"\n"),
                     -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "static.yaml:2:11: cluster.nodeId: invalid node id"));
    ck_assert(has_diag(&d, "static.yaml:3:16: cluster.raftAddress: port 0 is not allowed here: "
                           "peers must know the port"));
    ck_assert(has_diag(&d, "static.yaml:4:35: cluster.bootstrap[1]: invalid bootstrap member "
                           "\"n2\" (want id=host:port)"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "cluster.bootstrap[2]: invalid bootstrap member"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "cluster.join: invalid address \"nowhere\""));
    ck_assert_uint_eq(d.nerrors, 5);
    ck_assert_str_eq(c.admin_address, ":0"); /* port 0 is fine for the admin API */
    ck_assert_uint_eq(c.n_bootstrap, 0);
}
END_TEST

START_TEST(log_levels)
{
    static const char *const in[] = {"trace",   "DEBUG", "Info",  "warn",
                                     "WARNING", "error", "fatal", "panic"};
    static const char *const out[] = {"DEBUG", "DEBUG", "INFO",  "WARN",
                                      "WARN",  "ERROR", "ERROR", "ERROR"};
    char y[64];
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        snprintf(y, sizeof y, "log:\n  level: %s\n", in[i]);
        ck_assert_int_eq(load(y), 0);
        ck_assert_str_eq(c.log_level, out[i]);
    }
    ck_assert_int_eq(load("log:\n  level: loud\n"), -EINVAL);
    ck_assert(has_diag(&d, "static.yaml:2:10: log.level: unknown log level \"loud\" (DEBUG, "
                           "INFO, WARN or ERROR)"));
}
END_TEST

START_TEST(file_provider_needs_one_source)
{
    ck_assert_int_eq(load("providers:\n  file:\n    watch: true\n"), -EINVAL);
    ck_assert(has_diag(&d, "static.yaml:2:3: providers.file: needs filename or directory"));
}
END_TEST

START_TEST(keys_case_insensitive)
{
    ck_assert_int_eq(load("entrypoints:\n  web:\n    Address: \":81\"\n"), 0);
    ck_assert_uint_eq(c.entrypoints[0].port, 81);
}
END_TEST

START_TEST(entry_point_not_a_map)
{
    ck_assert_int_eq(load("entryPoints:\n  web: \":80\"\n"), -EINVAL);
    ck_assert(has_diag(&d, "static.yaml:2:8: entryPoints.web: expected a map, got a string"));
    ck_assert_uint_eq(d.nerrors, 1);
}
END_TEST

START_TEST(templates_are_text_in_static_config)
{
    ck_assert_int_eq(
        load("providers:\n  docker:\n    defaultRule: \"Host(`{{ normalize .Name }}`)\"\n"), 0);
    ck_assert_uint_eq(d.nerrors, 0);
    ck_assert_uint_eq(d.n, 0);
    ck_assert_str_eq(c.docker.default_rule, "Host(`{{ normalize .Name }}`)");
}
END_TEST

START_TEST(toml_and_missing_file)
{
    ck_assert_int_eq(static_config_load(&c, fixture("simple_muxer.toml"), &d), -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "TOML is not supported, use YAML"));
    ck_assert_int_eq(static_config_load(&c, "/nonexistent/static.yaml", &d), -ENOENT);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "/nonexistent/static.yaml: cannot read"));
}
END_TEST

START_TEST(load_without_defaults_first)
{
    struct static_config z = {0};
    ck_assert_int_eq(static_config_load_string(&z, "s.yaml", "workers: 3\n", 11, &d), 0);
    ck_assert_uint_eq(z.workers, 3);
    ck_assert_str_eq(z.admin_address, "127.0.0.1:9900");
    static_config_fini(&z);
}
END_TEST

/* providers.kubernetesCRD / kubernetesIngress: the implemented keys, the unsupported ones
 * warned, endpoints http or https. */
START_TEST(kubernetes_providers)
{
    ck_assert_int_eq(load("providers:\n"
                          "  kubernetesCRD:\n"
                          "    endpoint: http://127.0.0.1:8001\n"
                          "    token: t0k\n"
                          "    namespaces: [apps, web]\n"
                          "    labelSelector: app=web\n"
                          "    allowCrossNamespace: true\n"
                          "    allowExternalNameServices: true\n"
                          "    throttleDuration: 2s\n"
                          "  kubernetesIngress:\n"
                          "    kubeconfig: kube/config\n"
                          "    ingressClass: concord\n"
                          "    certAuthFilePath: /ca.crt\n"),
                     0);
    ck_assert(c.kube_crd.enabled && c.kube_ingress.enabled);
    ck_assert_str_eq(c.kube_crd.endpoint, "http://127.0.0.1:8001");
    ck_assert_str_eq(c.kube_crd.token, "t0k");
    ck_assert_uint_eq(c.kube_crd.n_namespaces, 2);
    ck_assert_str_eq(c.kube_crd.namespaces[1], "web");
    ck_assert_str_eq(c.kube_crd.label_selector, "app=web");
    ck_assert(c.kube_crd.allow_cross_namespace && c.kube_crd.allow_external_name_services);
    ck_assert(!c.kube_ingress.allow_external_name_services);
    ck_assert_ptr_null(c.kube_ingress.endpoint);
    ck_assert_str_eq(c.kube_ingress.kubeconfig, "kube/config"); /* no folder: kept as written */
    ck_assert_str_eq(c.kube_ingress.ingress_class, "concord");
    ck_assert(has_diag(&d, "static.yaml:9:5: providers.kubernetesCRD.throttleDuration: recognised "
                           "Traefik key, not supported yet (warning)"));
    ck_assert_str_eq(c.kube_ingress.cert_auth_file, "/ca.crt");
    ck_assert_uint_eq(d.nerrors, 0);
    static_config_fini(&c);
    diags_fini(&d);
    diags_init(&d);
    static_config_defaults(&c);
    ck_assert_int_eq(load("providers:\n  kubernetesCRD:\n    endpoint: ftp://10.0.0.1:443\n"
                          "  kubernetesIngress:\n    ingresClass: x\n"),
                     -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "providers.kubernetesCRD: endpoint "
                                           "\"ftp://10.0.0.1:443\": expected http[s]://"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "providers.kubernetesIngress.ingresClass: unknown key"));
}
END_TEST

/* The reference lists every Traefik static key with placeholder values. Every key is
 * recognised; the only errors are placeholders that are not valid values. */
START_TEST(traefik_reference)
{
    const char *path = fixture("static-file-reference.yaml");
    char want[1200];
    ck_assert_int_eq(static_config_load(&c, path, &d), -EINVAL);
    ck_assert_uint_eq(count_diags(&d, DIAG_ERROR, "unknown key"), 0);
    ck_assert_uint_eq(d.nerrors, 13);
    /* providers.etcd.endpoints: "foobar" twice, not host:port */
    ck_assert_uint_eq(count_diags(&d, DIAG_ERROR,
                                  "providers.etcd: endpoint \"foobar\": expected host:port"),
                      2);
    /* providers.docker: endpoint "foobar" is not unix:// or tcp://, constraints "foobar" does
     * not parse */
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "providers.docker: endpoint \"foobar\": expected"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "providers.docker: constraints: column 1: expected "
                                           "Label(...)"));
    /* providers.kubernetesCRD/kubernetesIngress.endpoint "foobar" are not http:// URLs */
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "providers.kubernetesCRD: endpoint \"foobar\": expected"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "providers.kubernetesIngress: endpoint \"foobar\""));
    /* providers.http.endpoint "foobar" is not an http:// URL */
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "providers.http: endpoint \"foobar\": expected an "
                                           "http:// or https:// URL"));
    /* http.redirections.entryPoint.to names an entry point the file does not define. */
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "entryPoints.EntryPoint0.http.redirections.entryPoint"
                                           ".to: entry point \"foobar\" is not defined"));
    snprintf(want, sizeof want,
             "%s:37:14: entryPoints.EntryPoint0.address: invalid address \"foobar\" (want "
             "[host]:port, e.g. \":8080\", \"127.0.0.1:8080\" or \"[::1]:8080\")",
             path);
    ck_assert(has_diag(&d, want));
    snprintf(want, sizeof want,
             "%s:59:11: entryPoints.EntryPoint0.forwardedHeaders.trustedIPs[0]: invalid IP "
             "address or CIDR range \"foobar\"",
             path);
    ck_assert(has_diag(&d, want));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "forwardedHeaders.trustedIPs[1]: invalid IP"));
    snprintf(want, sizeof want,
             "%s:147:3: providers.file: filename and directory are mutually exclusive", path);
    ck_assert(has_diag(&d, want));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "log.level: unknown log level \"foobar\""));
    ck_assert_uint_eq(count_diags(&d, DIAG_WARNING, "recognised Traefik key, not supported yet"),
                      62); /* 57 before http.redirections, http.middlewares, providers.http.tls,
                              providers.etcd and providers.docker; kubernetesCRD/Ingress: 2
                              before, now 5 + 7 unsupported sub-keys */
    ck_assert_uint_eq(d.n, 75);
    /* The keys Concord implements took the placeholder values. */
    const struct entrypoint_config *ep = &c.entrypoints[0];
    ck_assert_str_eq(ep->name, "EntryPoint0");
    ck_assert(ep->as_default);
    ck_assert_uint_eq(ep->read_timeout_ms, 42000);
    ck_assert_uint_eq(ep->grace_timeout_ms, 42000);
    ck_assert_uint_eq(ep->keepalive_max_requests, 42);
    ck_assert_uint_eq(ep->keepalive_max_time_ms, 42000);
    ck_assert_uint_eq(ep->max_header_bytes, 42);
    ck_assert(ep->forwarded_insecure);
    ck_assert_uint_eq(c.transport.max_idle_conns_per_host, 42);
    ck_assert_uint_eq(c.transport.response_header_timeout_ms, 42000);
    ck_assert_uint_eq(c.providers_throttle_ms, 42000);
    ck_assert(c.file.watch);
    ck_assert(c.docker.enabled && c.docker.allow_empty_services && c.docker.use_bind_port_ip);
    ck_assert_str_eq(c.docker.network, "foobar");
    ck_assert_uint_eq(c.docker.http_client_timeout_ms, 42000);
}
END_TEST

/* providers.docker: every key Concord decodes, the defaults, and the checks at load. */
START_TEST(docker_provider_keys)
{
    ck_assert(!c.docker.enabled);
    ck_assert_str_eq(c.docker.endpoint, "unix:///var/run/docker.sock");
    ck_assert(c.docker.exposed_by_default);
    ck_assert(c.docker.watch);
    ck_assert_int_eq(load("providers:\n  docker: {}\n"), 0);
    ck_assert_uint_eq(d.n, 0);
    ck_assert(c.docker.enabled);
    ck_assert_str_eq(c.docker.endpoint, "unix:///var/run/docker.sock");
    ck_assert(c.docker.exposed_by_default && c.docker.watch && !c.docker.use_bind_port_ip);
    ck_assert(!c.docker.allow_empty_services);
    ck_assert_ptr_null(c.docker.default_rule);
    ck_assert_ptr_null(c.docker.constraints);
    ck_assert_ptr_null(c.docker.network);
    ck_assert_int_eq(load("providers:\n"
                          "  docker:\n"
                          "    endpoint: tcp://127.0.0.1:2375\n"
                          "    exposedByDefault: false\n"
                          "    defaultRule: \"Host(`{{ .Name }}.docker.test`)\"\n"
                          "    constraints: \"Label(`a`, `b`) && !LabelRegex(`c`, `^x`)\"\n"
                          "    network: front\n"
                          "    useBindPortIP: true\n"
                          "    watch: false\n"
                          "    allowEmptyServices: true\n"
                          "    httpClientTimeout: 7s\n"
                          "    username: u\n"
                          "    password: p\n"
                          "    tls:\n"
                          "      insecureSkipVerify: true\n"),
                     0);
    ck_assert_str_eq(c.docker.endpoint, "tcp://127.0.0.1:2375");
    ck_assert(!c.docker.exposed_by_default && !c.docker.watch);
    ck_assert(c.docker.use_bind_port_ip && c.docker.allow_empty_services);
    ck_assert_str_eq(c.docker.default_rule, "Host(`{{ .Name }}.docker.test`)");
    ck_assert_str_eq(c.docker.constraints, "Label(`a`, `b`) && !LabelRegex(`c`, `^x`)");
    ck_assert_str_eq(c.docker.network, "front");
    ck_assert_uint_eq(c.docker.http_client_timeout_ms, 7000);
    ck_assert_str_eq(c.docker.username, "u");
    ck_assert_str_eq(c.docker.password, "p");
    ck_assert(c.docker.tls.set && c.docker.tls.insecure_skip_verify);
    ck_assert_uint_eq(d.n, 0);
}
END_TEST

START_TEST(docker_provider_errors)
{
    ck_assert_int_eq(load("providers:\n"
                          "  docker:\n"
                          "    endpoint: http://127.0.0.1:2375\n"
                          "    constraints: \"Label(`a`)\"\n"
                          "    watch: maybe\n"
                          "    networks: x\n"),
                     -EINVAL);
    ck_assert(has_diag(&d, "static.yaml:2:3: providers.docker: endpoint "
                           "\"http://127.0.0.1:2375\": expected unix:///path or tcp://host:port"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "providers.docker: constraints: column 10: expected "
                                           "',' between the two arguments"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "providers.docker.watch: "));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "providers.docker.networks: unknown key"));
    ck_assert_uint_eq(d.nerrors, 4);
    /* a host name is fine (fetch resolves it); a missing port is not */
    static_config_fini(&c);
    diags_fini(&d);
    diags_init(&d);
    static_config_defaults(&c);
    ck_assert_int_eq(load("providers:\n  docker:\n    endpoint: tcp://docker.example:2375\n"), 0);
    ck_assert_int_eq(load("providers:\n  docker:\n    endpoint: tcp://docker.example\n"),
                     -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "endpoint \"tcp://docker.example\": expected "
                                           "tcp://host:port"));
    /* tls is for tcp://; a username needs its password */
    ck_assert_int_eq(load("providers:\n  docker:\n    endpoint: unix:///d.sock\n    tls: {}\n"
                          "    username: u\n"),
                     -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "tls applies to tcp:// endpoints"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "username and password go together"));
}
END_TEST

START_TEST(entry_point_http_middlewares_and_redirections)
{
    ck_assert_int_eq(load("entryPoints:\n"
                          "  web:\n    address: ':80'\n"
                          "    http:\n      middlewares: [a@file, b]\n"
                          "      redirections: {entryPoint: {to: websecure}}\n"
                          "  websecure:\n    address: ':443'\n"
                          "  alt:\n    address: ':81'\n"
                          "    http: {redirections: {entryPoint: {to: ':8443', scheme: http, "
                          "permanent: false, priority: 7}}}\n"),
                     0);
    ck_assert_uint_eq(d.n, 0);
    ck_assert_uint_eq(c.entrypoints[0].n_http_middlewares, 2);
    ck_assert_str_eq(c.entrypoints[0].http_middlewares[1], "b");
    ck_assert_str_eq(c.entrypoints[0].redirect_to, "websecure");
    ck_assert_ptr_null(c.entrypoints[0].redirect_scheme); /* "https" */
    ck_assert(c.entrypoints[0].redirect_permanent);
    ck_assert_uint_eq(c.entrypoints[0].redirect_priority, INT64_MAX - 1);
    ck_assert_ptr_null(c.entrypoints[1].redirect_to);
    ck_assert_str_eq(c.entrypoints[2].redirect_to, ":8443");
    ck_assert_str_eq(c.entrypoints[2].redirect_scheme, "http");
    ck_assert(!c.entrypoints[2].redirect_permanent);
    ck_assert_uint_eq(c.entrypoints[2].redirect_priority, 7);
}
END_TEST

START_TEST(entry_point_redirection_errors)
{
    ck_assert_int_eq(load("entryPoints:\n"
                          "  web:\n    address: ':80'\n"
                          "    http: {redirections: {entryPoint: {to: nowhere, scheme: 'a b'}}}\n"
                          "  self:\n    address: ':81'\n"
                          "    http: {redirections: {entryPoint: {to: self, priority: 0}}}\n"
                          "  port:\n    address: ':82'\n"
                          "    http: {redirections: {entryPoint: {to: ':x'}}}\n"),
                     -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "entryPoints.web.http.redirections.entryPoint.to: "
                                           "entry point \"nowhere\" is not defined"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "entryPoints.web.http.redirections.entryPoint.scheme: "
                                           "\"a b\" is not a URL scheme"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "entryPoints.self.http.redirections.entryPoint.to: "
                                           "entry point self redirects to itself"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "entryPoints.self.http.redirections.entryPoint."
                                           "priority"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "entryPoints.port.http.redirections.entryPoint.to: "
                                           "invalid port \":x\""));
    ck_assert_uint_eq(d.nerrors, 5);
}
END_TEST

START_TEST(etcd_provider_rows)
{
    /* Traefik's defaults: 127.0.0.1:2379 and root "traefik"; not enabled */
    ck_assert(!c.etcd.enabled);
    ck_assert_uint_eq(c.etcd.n_endpoints, 1);
    ck_assert_str_eq(c.etcd.endpoints[0], "127.0.0.1:2379");
    ck_assert_str_eq(c.etcd.root_key, "traefik");
    ck_assert_int_eq(load("providers:\n"
                          "  etcd:\n"
                          "    endpoints: [\"127.0.0.1:2379\", \"http://127.0.0.1:2380/\"]\n"
                          "    rootKey: prod/traefik/\n"
                          "    username: root\n"
                          "    password: s3cret\n"
                          "    tls: {ca: /etc/ca.pem}\n"),
                     0);
    ck_assert(c.etcd.enabled);
    ck_assert_uint_eq(c.etcd.n_endpoints, 2);
    ck_assert_str_eq(c.etcd.endpoints[0], "127.0.0.1:2379");
    ck_assert_str_eq(c.etcd.endpoints[1], "http://127.0.0.1:2380/");
    ck_assert_str_eq(c.etcd.root_key, "prod/traefik"); /* the trailing '/' is dropped */
    ck_assert_str_eq(c.etcd.username, "root");
    ck_assert_str_eq(c.etcd.password, "s3cret");
    /* tls: every endpoint is https, verified against this CA */
    ck_assert(c.etcd.tls.set);
    ck_assert_str_eq(c.etcd.tls.ca, "/etc/ca.pem");
    ck_assert_uint_eq(d.n, 0);
}
END_TEST

START_TEST(etcd_provider_defaults_when_empty)
{
    ck_assert_int_eq(load("providers:\n  etcd: {}\n"), 0);
    ck_assert(c.etcd.enabled);
    ck_assert_str_eq(c.etcd.endpoints[0], "127.0.0.1:2379");
    ck_assert_str_eq(c.etcd.root_key, "traefik");
    ck_assert_ptr_null(c.etcd.username);
    ck_assert_uint_eq(d.n, 0);
}
END_TEST

START_TEST(etcd_provider_errors)
{
    ck_assert_int_eq(load("providers:\n"
                          "  etcd:\n"
                          "    endpoints: [\"ftp://127.0.0.1:2379\", nohostport, \":2379\"]\n"
                          "    rootKey: \"/\"\n"
                          "    username: root\n"
                          "    tlss: {}\n"),
                     -EINVAL);
    ck_assert(has_diag(&d, "static.yaml:6:5: providers.etcd.tlss: unknown key"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "providers.etcd: endpoint \"ftp://127.0.0.1:2379\": "
                                           "expected host:port, http:// or https://"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR,
                           "providers.etcd: endpoint \"nohostport\": expected host:port"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR,
                           "providers.etcd: endpoint \":2379\": expected host:port"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "providers.etcd: rootKey must not be empty"));
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "providers.etcd: username and password go together"));
    ck_assert_uint_eq(d.nerrors, 6);
    static_config_fini(&c);
    diags_fini(&d);
    diags_init(&d);
    static_config_defaults(&c);
    ck_assert_int_eq(load("providers:\n  etcd:\n    endpoints: []\n"), -EINVAL);
    ck_assert(has_diag_sub(&d, DIAG_ERROR, "providers.etcd: needs at least one endpoint"));
}
END_TEST

static Suite *static_suite(void)
{
    Suite *s = suite_create("providers/static_config");
    TCase *tc = tcase_create("static");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, empty_file_keeps_defaults);
    tcase_add_test(tc, every_decoded_key);
    tcase_add_test(tc, relative_paths);
    tcase_add_test(tc, http_provider_tls);
    tcase_add_test(tc, unknown_key_exact_text);
    tcase_add_test(tc, unknown_top_level_and_nested);
    tcase_add_test(tc, recognised_keys_warn);
    tcase_add_test(tc, typo_inside_recognised_key);
    tcase_add_test(tc, type_errors);
    tcase_add_test(tc, ranges);
    tcase_add_test(tc, top_level_not_a_map);
    tcase_add_test(tc, dynamic_section_in_static_file);
    tcase_add_test(tc, udp_entry_point_refused);
    tcase_add_test(tc, bad_address);
    tcase_add_test(tc, parse_address);
    tcase_add_test(tc, trusted_ips_errors);
    tcase_add_test(tc, cluster_errors);
    tcase_add_test(tc, log_levels);
    tcase_add_test(tc, file_provider_needs_one_source);
    tcase_add_test(tc, keys_case_insensitive);
    tcase_add_test(tc, entry_point_not_a_map);
    tcase_add_test(tc, templates_are_text_in_static_config);
    tcase_add_test(tc, toml_and_missing_file);
    tcase_add_test(tc, load_without_defaults_first);
    tcase_add_test(tc, traefik_reference);
    tcase_add_test(tc, docker_provider_keys);
    tcase_add_test(tc, docker_provider_errors);
    tcase_add_test(tc, kubernetes_providers);
    tcase_add_test(tc, entry_point_http_middlewares_and_redirections);
    tcase_add_test(tc, entry_point_redirection_errors);
    tcase_add_test(tc, etcd_provider_rows);
    tcase_add_test(tc, etcd_provider_defaults_when_empty);
    tcase_add_test(tc, etcd_provider_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(static_suite());
}

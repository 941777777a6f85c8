/* Key patterns of the Traefik options Concord recognises but does not implement yet.
 *
 * Each macro lists the keys allowed under one option, as schema_check_keys() reads them:
 * space-separated dotted paths, "*" for a user-chosen name, "**" for anything below; lists are
 * transparent. They come from Traefik's generated reference files (shared/traefik-fixtures, the
 * Go structs' YAML names) plus the few keys docs/traefik-compat.md names that the reference
 * omits. When a feature is implemented, its row in static_config.c or decode.c becomes a real
 * decoder and its macro goes away.
 */
#ifndef CONCORD_PROVIDERS_TRAEFIK_KEYS_H
#define CONCORD_PROVIDERS_TRAEFIK_KEYS_H

/* --- static configuration --- */

#define KEYS_GLOBAL "checkNewVersion sendAnonymousUsage"

#define KEYS_TCP_SERVERS_TRANSPORT                                                                 \
    "dialKeepAlive dialTimeout terminationDelay tls.insecureSkipVerify tls.rootCAs "               \
    "tls.spiffe.ids tls.spiffe.trustDomain"

#define KEYS_EP_REDIRECTIONS                                                                       \
    "entryPoint.to entryPoint.scheme entryPoint.permanent entryPoint.priority"

#define KEYS_EP_TLS "options certResolver domains.main domains.sans"

#define KEYS_EP_ENCODED_CHARACTERS                                                                 \
    "allowEncodedSlash allowEncodedBackSlash allowEncodedNullCharacter allowEncodedSemicolon "     \
    "allowEncodedPercent allowEncodedQuestionMark allowEncodedHash"

#define KEYS_PROVIDER_DOCKER                                                                       \
    "exposedByDefault constraints allowEmptyServices network useBindPortIP watch defaultRule "     \
    "username password endpoint tls.ca tls.cert tls.key tls.insecureSkipVerify "                   \
    "httpClientTimeout"

#define KEYS_PROVIDER_SWARM                                                                        \
    "exposedByDefault constraints allowEmptyServices network useBindPortIP watch defaultRule "     \
    "username password endpoint tls.ca tls.cert tls.key tls.insecureSkipVerify "                   \
    "httpClientTimeout refreshSeconds"

#define KEYS_PROVIDER_KUBERNETES_INGRESS                                                           \
    "endpoint token certAuthFilePath namespaces labelSelector ingressClass ingressEndpoint.ip "    \
    "ingressEndpoint.hostname ingressEndpoint.publishedService throttleDuration "                  \
    "allowEmptyServices allowExternalNameServices disableIngressClassLookup "                      \
    "disableClusterScopeResources nativeLBByDefault strictPrefixMatching"

#define KEYS_PROVIDER_KUBERNETES_INGRESS_NGINX                                                     \
    "endpoint token certAuthFilePath throttleDuration watchNamespace watchNamespaceSelector "      \
    "ingressClass controllerClass watchIngressWithoutClass ingressClassByName publishService "     \
    "publishStatusAddress defaultBackendService disableSvcExternalName"

#define KEYS_PROVIDER_KUBERNETES_CRD                                                               \
    "endpoint token certAuthFilePath namespaces allowCrossNamespace allowExternalNameServices "    \
    "labelSelector ingressClass throttleDuration allowEmptyServices nativeLBByDefault "            \
    "disableClusterScopeResources"

#define KEYS_PROVIDER_KUBERNETES_GATEWAY                                                           \
    "endpoint token certAuthFilePath namespaces labelSelector throttleDuration "                   \
    "experimentalChannel statusAddress.ip statusAddress.hostname statusAddress.service.name "      \
    "statusAddress.service.namespace nativeLBByDefault"

#define KEYS_PROVIDER_REST "insecure"

#define KEYS_PROVIDER_CONSUL_CATALOG                                                               \
    "constraints endpoint.address endpoint.scheme endpoint.datacenter endpoint.token "             \
    "endpoint.tls.ca endpoint.tls.cert endpoint.tls.key endpoint.tls.insecureSkipVerify "          \
    "endpoint.httpAuth.username endpoint.httpAuth.password endpoint.endpointWaitTime prefix "      \
    "refreshInterval requireConsistent stale cache exposedByDefault defaultRule connectAware "     \
    "connectByDefault serviceName watch strictChecks namespaces"

#define KEYS_PROVIDER_NOMAD                                                                        \
    "defaultRule constraints endpoint.address endpoint.region endpoint.token endpoint.tls.ca "     \
    "endpoint.tls.cert endpoint.tls.key endpoint.tls.insecureSkipVerify "                          \
    "endpoint.endpointWaitTime prefix stale exposedByDefault refreshInterval "                     \
    "allowEmptyServices watch throttleDuration namespaces"

#define KEYS_PROVIDER_ECS                                                                          \
    "constraints exposedByDefault refreshSeconds defaultRule clusters autoDiscoverClusters "       \
    "healthyTasksOnly ecsAnywhere region accessKeyID secretAccessKey"

#define KEYS_PROVIDER_CONSUL                                                                       \
    "rootKey endpoints token tls.ca tls.cert tls.key tls.insecureSkipVerify namespaces"

#define KEYS_PROVIDER_ETCD                                                                         \
    "rootKey endpoints tls.ca tls.cert tls.key tls.insecureSkipVerify username password"

#define KEYS_PROVIDER_ZOO_KEEPER "rootKey endpoints username password"

#define KEYS_PROVIDER_REDIS                                                                        \
    "rootKey endpoints tls.ca tls.cert tls.key tls.insecureSkipVerify username password db "       \
    "sentinel.masterName sentinel.username sentinel.password sentinel.latencyStrategy "            \
    "sentinel.randomStrategy sentinel.replicaStrategy sentinel.useDisconnectedReplicas"

#define KEYS_PROVIDER_HTTP                                                                         \
    "endpoint pollInterval pollTimeout headers.* tls.ca tls.cert tls.key "                         \
    "tls.insecureSkipVerify maxResponseBodySize"

#define KEYS_API "basePath insecure dashboard debug disableDashboardAd dashboardName"

#define KEYS_METRICS                                                                               \
    "addInternals prometheus.buckets prometheus.addEntryPointsLabels "                             \
    "prometheus.addRoutersLabels prometheus.addServicesLabels prometheus.entryPoint "              \
    "prometheus.manualRouting prometheus.headerLabels.* datadog.address datadog.pushInterval "     \
    "datadog.addEntryPointsLabels datadog.addRoutersLabels datadog.addServicesLabels "             \
    "datadog.prefix statsD.address statsD.pushInterval statsD.addEntryPointsLabels "               \
    "statsD.addRoutersLabels statsD.addServicesLabels statsD.prefix influxDB2.address "            \
    "influxDB2.token influxDB2.pushInterval influxDB2.org influxDB2.bucket "                       \
    "influxDB2.addEntryPointsLabels influxDB2.addRoutersLabels influxDB2.addServicesLabels "       \
    "influxDB2.additionalLabels.* otlp.grpc.endpoint otlp.grpc.insecure otlp.grpc.tls.ca "         \
    "otlp.grpc.tls.cert otlp.grpc.tls.key otlp.grpc.tls.insecureSkipVerify otlp.grpc.headers.* "   \
    "otlp.http.endpoint otlp.http.tls.ca otlp.http.tls.cert otlp.http.tls.key "                    \
    "otlp.http.tls.insecureSkipVerify otlp.http.headers.* otlp.addEntryPointsLabels "              \
    "otlp.addRoutersLabels otlp.addServicesLabels otlp.explicitBoundaries otlp.pushInterval "      \
    "otlp.serviceName otlp.resourceAttributes.*"

#define KEYS_PING "entryPoint manualRouting terminatingStatusCode"

#define KEYS_LOG_OTLP                                                                              \
    "serviceName resourceAttributes.* grpc.endpoint grpc.insecure grpc.tls.ca grpc.tls.cert "      \
    "grpc.tls.key grpc.tls.insecureSkipVerify grpc.headers.* http.endpoint http.tls.ca "           \
    "http.tls.cert http.tls.key http.tls.insecureSkipVerify http.headers.*"

#define KEYS_ACCESS_LOG                                                                            \
    "filePath format filters.statusCodes filters.retryAttempts filters.minDuration "               \
    "fields.defaultMode fields.names.* fields.headers.defaultMode fields.headers.names.* "         \
    "bufferingSize addInternals otlp.serviceName otlp.resourceAttributes.* otlp.grpc.endpoint "    \
    "otlp.grpc.insecure otlp.grpc.tls.ca otlp.grpc.tls.cert otlp.grpc.tls.key "                    \
    "otlp.grpc.tls.insecureSkipVerify otlp.grpc.headers.* otlp.http.endpoint otlp.http.tls.ca "    \
    "otlp.http.tls.cert otlp.http.tls.key otlp.http.tls.insecureSkipVerify otlp.http.headers.*"

#define KEYS_TRACING                                                                               \
    "serviceName resourceAttributes.* capturedRequestHeaders capturedResponseHeaders "             \
    "safeQueryParams sampleRate addInternals otlp.grpc.endpoint otlp.grpc.insecure "               \
    "otlp.grpc.tls.ca otlp.grpc.tls.cert otlp.grpc.tls.key otlp.grpc.tls.insecureSkipVerify "      \
    "otlp.grpc.headers.* otlp.http.endpoint otlp.http.tls.ca otlp.http.tls.cert "                  \
    "otlp.http.tls.key otlp.http.tls.insecureSkipVerify otlp.http.headers.* globalAttributes.*"

#define KEYS_HOST_RESOLVER "cnameFlattening resolvConfig resolvDepth"

#define KEYS_CERTIFICATES_RESOLVERS                                                                \
    "*.acme.email *.acme.caServer *.acme.preferredChain *.acme.profile *.acme.emailAddresses "     \
    "*.acme.disableCommonName *.acme.storage *.acme.keyType *.acme.eab.kid "                       \
    "*.acme.eab.hmacEncoded *.acme.certificatesDuration *.acme.clientTimeout "                     \
    "*.acme.clientResponseHeaderTimeout *.acme.caCertificates *.acme.caSystemCertPool "            \
    "*.acme.caServerName *.acme.dnsChallenge.provider *.acme.dnsChallenge.resolvers "              \
    "*.acme.dnsChallenge.propagation.disableChecks "                                               \
    "*.acme.dnsChallenge.propagation.disableANSChecks "                                            \
    "*.acme.dnsChallenge.propagation.requireAllRNS "                                               \
    "*.acme.dnsChallenge.propagation.delayBeforeChecks *.acme.dnsChallenge.delayBeforeCheck "      \
    "*.acme.dnsChallenge.disablePropagationCheck *.acme.httpChallenge.entryPoint "                 \
    "*.acme.httpChallenge.delay *.acme.tlsChallenge.delay *.tailscale"

#define KEYS_EXPERIMENTAL                                                                          \
    "plugins.*.moduleName plugins.*.version plugins.*.settings.envs plugins.*.settings.mounts "    \
    "plugins.*.settings.useUnsafe localPlugins.*.moduleName localPlugins.*.settings.envs "         \
    "localPlugins.*.settings.mounts localPlugins.*.settings.useUnsafe abortOnPluginFailure "       \
    "fastProxy.debug otlplogs kubernetesIngressNGINX kubernetesGateway"

#define KEYS_CORE "defaultRuleSyntax"

#define KEYS_SPIFFE "workloadAPIAddr"

#define KEYS_OCSP "responderOverrides.*"

/* --- dynamic configuration --- */

#define KEYS_ROUTER_TLS "options certResolver domains.main domains.sans"

#define KEYS_ROUTER_OBSERVABILITY "accessLogs metrics tracing traceVerbosity"

#define KEYS_SVC_FAILOVER "service fallback healthCheck errors.status errors.maxRequestBodyBytes"

#define KEYS_SVC_HRW "services.name services.weight healthCheck"

#define KEYS_SVC_MIRRORING "service mirrorBody maxBodySize mirrors.name mirrors.percent healthCheck"

#define KEYS_SVC_WEIGHTED                                                                          \
    "services.name services.weight sticky.cookie.name sticky.cookie.secure "                       \
    "sticky.cookie.httpOnly sticky.cookie.sameSite sticky.cookie.maxAge sticky.cookie.path "       \
    "sticky.cookie.domain healthCheck"

#define KEYS_LB_STICKY                                                                             \
    "cookie.name cookie.secure cookie.httpOnly cookie.sameSite cookie.maxAge cookie.path "         \
    "cookie.domain"

#define KEYS_LB_HEALTH_CHECK                                                                       \
    "scheme mode path method status port interval unhealthyInterval timeout hostname "             \
    "followRedirects headers.*"

#define KEYS_LB_PASSIVE_HEALTH_CHECK "failureWindow maxFailedAttempts"

#define KEYS_MW_ADD_PREFIX "prefix"

#define KEYS_MW_BASIC_AUTH "users usersFile realm removeHeader headerField"

#define KEYS_MW_BUFFERING                                                                          \
    "maxRequestBodyBytes memRequestBodyBytes maxResponseBodyBytes memResponseBodyBytes "           \
    "retryExpression"

#define KEYS_MW_CHAIN "middlewares"

#define KEYS_MW_CIRCUIT_BREAKER                                                                    \
    "expression checkPeriod fallbackDuration recoveryDuration responseCode"

#define KEYS_MW_COMPRESS                                                                           \
    "excludedContentTypes includedContentTypes minResponseBodyBytes encodings defaultEncoding"

#define KEYS_MW_CONTENT_TYPE "autoDetect"

#define KEYS_MW_DIGEST_AUTH "users usersFile removeHeader realm headerField"

#define KEYS_MW_ERRORS "status statusRewrites.* service query errorRequestHeaders"

#define KEYS_MW_FORWARD_AUTH                                                                       \
    "address tls.ca tls.cert tls.key tls.insecureSkipVerify tls.caOptional trustForwardHeader "    \
    "authResponseHeaders authResponseHeadersRegex authRequestHeaders addAuthCookiesToResponse "    \
    "headerField forwardBody maxBodySize maxResponseBodySize preserveLocationHeader "              \
    "preserveRequestMethod"

#define KEYS_MW_GRPC_WEB "allowOrigins"

#define KEYS_MW_HEADERS                                                                            \
    "customRequestHeaders.* customResponseHeaders.* accessControlAllowCredentials "                \
    "accessControlAllowHeaders accessControlAllowMethods accessControlAllowOriginList "            \
    "accessControlAllowOriginListRegex accessControlExposeHeaders accessControlMaxAge "            \
    "addVaryHeader allowedHosts hostsProxyHeaders sslProxyHeaders.* stsSeconds "                   \
    "stsIncludeSubdomains stsPreload forceSTSHeader frameDeny customFrameOptionsValue "            \
    "contentTypeNosniff browserXssFilter customBrowserXSSValue contentSecurityPolicy "             \
    "contentSecurityPolicyReportOnly publicKey referrerPolicy permissionsPolicy isDevelopment "    \
    "featurePolicy sslRedirect sslTemporaryRedirect sslHost sslForceHost"

#define KEYS_MW_IP_ALLOW_LIST                                                                      \
    "sourceRange ipStrategy.depth ipStrategy.excludedIPs ipStrategy.ipv6Subnet "                   \
    "rejectStatusCode"

#define KEYS_MW_IP_WHITE_LIST                                                                      \
    "sourceRange ipStrategy.depth ipStrategy.excludedIPs ipStrategy.ipv6Subnet"

#define KEYS_MW_IN_FLIGHT_REQ                                                                      \
    "amount sourceCriterion.ipStrategy.depth sourceCriterion.ipStrategy.excludedIPs "              \
    "sourceCriterion.ipStrategy.ipv6Subnet sourceCriterion.requestHeaderName "                     \
    "sourceCriterion.requestHost"

#define KEYS_MW_PASS_TLS_CLIENT_CERT                                                               \
    "pem info.notAfter info.notBefore info.sans info.serialNumber info.subject.country "           \
    "info.subject.province info.subject.locality info.subject.organization "                       \
    "info.subject.organizationalUnit info.subject.commonName info.subject.serialNumber "           \
    "info.subject.domainComponent info.issuer.country info.issuer.province "                       \
    "info.issuer.locality info.issuer.organization info.issuer.commonName "                        \
    "info.issuer.serialNumber info.issuer.domainComponent"

#define KEYS_MW_PLUGIN "*.**"

#define KEYS_MW_RATE_LIMIT                                                                         \
    "average period burst sourceCriterion.ipStrategy.depth "                                       \
    "sourceCriterion.ipStrategy.excludedIPs sourceCriterion.ipStrategy.ipv6Subnet "                \
    "sourceCriterion.requestHeaderName sourceCriterion.requestHost redis.endpoints "               \
    "redis.tls.ca redis.tls.cert redis.tls.key redis.tls.insecureSkipVerify redis.username "       \
    "redis.password redis.db redis.poolSize redis.minIdleConns redis.maxActiveConns "              \
    "redis.readTimeout redis.writeTimeout redis.dialTimeout"

#define KEYS_MW_REDIRECT_REGEX "regex replacement permanent"

#define KEYS_MW_REDIRECT_SCHEME "scheme port permanent"

#define KEYS_MW_REPLACE_PATH "path"

#define KEYS_MW_REPLACE_PATH_REGEX "regex replacement"

#define KEYS_MW_RETRY                                                                              \
    "attempts initialInterval timeout maxRequestBodyBytes status disableRetryOnNetworkError "      \
    "retryNonIdempotentMethod"

#define KEYS_MW_STRIP_PREFIX "prefixes forceSlash"

#define KEYS_MW_STRIP_PREFIX_REGEX "regex"

#define KEYS_SERVERS_TRANSPORT                                                                     \
    "serverName insecureSkipVerify rootCAs certificates.certFile certificates.keyFile "            \
    "cipherSuites minVersion maxVersion maxIdleConnsPerHost forwardingTimeouts.dialTimeout "       \
    "forwardingTimeouts.responseHeaderTimeout forwardingTimeouts.idleConnTimeout "                 \
    "forwardingTimeouts.readIdleTimeout forwardingTimeouts.pingTimeout disableHTTP2 "              \
    "peerCertURI spiffe.ids spiffe.trustDomain peerCertSANs"

#define KEYS_TCP_ROUTER                                                                            \
    "entryPoints middlewares service rule ruleSyntax priority tls.passthrough tls.options "        \
    "tls.certResolver tls.domains.main tls.domains.sans"

#define KEYS_TCP_SERVICE                                                                           \
    "loadBalancer.servers.address loadBalancer.servers.tls loadBalancer.serversTransport "         \
    "loadBalancer.proxyProtocol.version loadBalancer.terminationDelay weighted.services.name "     \
    "weighted.services.weight loadBalancer.healthCheck.port loadBalancer.healthCheck.send "        \
    "loadBalancer.healthCheck.expect loadBalancer.healthCheck.payload "                            \
    "loadBalancer.healthCheck.expected loadBalancer.healthCheck.address "                          \
    "loadBalancer.healthCheck.tls loadBalancer.healthCheck.interval "                              \
    "loadBalancer.healthCheck.unhealthyInterval loadBalancer.healthCheck.timeout"

#define KEYS_TCP_MIDDLEWARE "ipAllowList.sourceRange ipWhiteList.sourceRange inFlightConn.amount"

#define KEYS_TCP_SERVERS_TRANSPORT_DYN                                                             \
    "dialKeepAlive dialTimeout proxyProtocol.version terminationDelay tls.serverName "             \
    "tls.insecureSkipVerify tls.rootCAs tls.certificates.certFile tls.certificates.keyFile "       \
    "tls.peerCertURI tls.spiffe.ids tls.spiffe.trustDomain"

#define KEYS_UDP_ROUTER "entryPoints service"

#define KEYS_UDP_SERVICE                                                                           \
    "loadBalancer.servers.address weighted.services.name weighted.services.weight"

#define KEYS_TLS_CERTIFICATES "certFile keyFile stores"

#define KEYS_TLS_OPTIONS                                                                           \
    "minVersion maxVersion cipherSuites curvePreferences clientAuth.caFiles "                      \
    "clientAuth.clientAuthType sniStrict alpnProtocols disableSessionTickets "                     \
    "preferServerCipherSuites"

#define KEYS_TLS_STORES                                                                            \
    "defaultCertificate.certFile defaultCertificate.keyFile defaultGeneratedCert.resolver "        \
    "defaultGeneratedCert.domain.main defaultGeneratedCert.domain.sans"

#endif

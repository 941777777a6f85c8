/* Shared by the table unit tests: a table assembled directly from router definitions, with
 * one service ("svc@test", one server) that every router points at. */
#ifndef CONCORD_TESTS_TABLE_FIXTURE_H
#define CONCORD_TESTS_TABLE_FIXTURE_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "node/table/rule.h"
#include "node/table/table-build.h"

struct rdef {
    char name[32];
    char rule[160];
    int64_t priority;
    uint64_t entrypoints;
};

static inline struct table *table_fixture(const struct rdef *defs, uint32_t n, uint64_t gen)
{
    struct table_parts p = {0};
    p.servers = calloc(1, sizeof *p.servers);
    p.services = calloc(1, sizeof *p.services);
    p.routers = calloc(n ? n : 1, sizeof *p.routers);
    ck_assert(p.servers && p.services && p.routers);
    p.nservers = p.nservices = 1;
    p.servers[0] = (struct table_server){.url = strdup("http://127.0.0.1:1"),
                                         .authority = strdup("127.0.0.1:1"),
                                         .path = strdup(""),
                                         .weight = 1};
    p.services[0].name = strdup("svc@test");
    p.services[0].servers = calloc(1, sizeof(struct table_server *));
    p.services[0].weights = calloc(1, sizeof(uint32_t));
    p.services[0].servers[0] = &p.servers[0];
    p.services[0].weights[0] = 1;
    p.services[0].nservers = 1;
    for (uint32_t i = 0; i < n; i++) {
        struct rule *r = NULL;
        struct err e = {0};
        ck_assert_msg(rule_parse(defs[i].rule, &r, &e) == 0, "%s: %s", defs[i].rule, e.msg);
        p.routers[i] = (struct table_router){.name = strdup(defs[i].name),
                                             .rule = strdup(defs[i].rule),
                                             .priority = defs[i].priority,
                                             .compiled = r,
                                             .service = &p.services[0],
                                             .entrypoints = defs[i].entrypoints};
        p.nrouters++;
    }
    struct table *t = table_assemble(&p, gen);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_null(p.routers); /* taken by the table */
    return t;
}

#endif

/* The Docker provider's defaultRule templates: the few Go template actions Traefik users
 * write, rendered without a template engine. */
#include "providers/docker_template.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define RULE_MAX_LEN 4096
#define KEY_MAX_LEN 256

void docker_normalize(const char *s, char *out, size_t size)
{
    size_t n = 0;
    bool sep = false;
    if (size == 0) {
        return;
    }
    for (; *s != '\0'; s++) {
        if (!isalnum((unsigned char)*s) || (unsigned char)*s >= 0x80) {
            sep = n > 0;
            continue;
        }
        if (sep && n + 1 < size) {
            out[n++] = '-';
        }
        sep = false;
        if (n + 1 < size) {
            out[n++] = *s;
        }
    }
    out[n] = '\0';
}

static const char *skip_ws(const char *s)
{
    while (isspace((unsigned char)*s)) {
        s++;
    }
    return s;
}

/* Evaluates one action (the text between "{{" and "}}", trimmed). Returns 0 or -EINVAL. */
static int eval_action(const char *a, size_t len, const char *name, const char *cname,
                       const struct label_kv *labels, size_t nlabels, char *out, size_t size)
{
    char buf[RULE_MAX_LEN], key[KEY_MAX_LEN];
    const char *val = NULL, *p;
    bool norm = false;
    size_t n;
    if (len >= sizeof buf) {
        return -EINVAL;
    }
    memcpy(buf, a, len);
    buf[len] = '\0';
    p = buf;
    if (strncmp(p, "normalize", 9) == 0 && (isspace((unsigned char)p[9]) || p[9] == '(')) {
        norm = true;
        p = skip_ws(p + 9);
    }
    n = strlen(p);
    while (n > 0 && isspace((unsigned char)p[n - 1])) {
        n--;
    }
    if (norm && n >= 2 && p[0] == '(' && p[n - 1] == ')') {
        p++;
        n -= 2;
        while (n > 0 && isspace((unsigned char)*p)) {
            p++;
            n--;
        }
        while (n > 0 && isspace((unsigned char)p[n - 1])) {
            n--;
        }
    }
    if (n == 5 && strncmp(p, ".Name", 5) == 0) {
        val = name;
    } else if (n == 14 && strncmp(p, ".ContainerName", 14) == 0) {
        val = cname;
    } else if (strncmp(p, "index", 5) == 0 && isspace((unsigned char)p[5])) {
        const char *q = skip_ws(p + 5), *end = p + n;
        char quote;
        size_t k;
        if (strncmp(q, ".Labels", 7) != 0 || !isspace((unsigned char)q[7])) {
            return -EINVAL;
        }
        q = skip_ws(q + 7);
        quote = *q;
        if ((quote != '"' && quote != '`') || end - q < 2 || end[-1] != quote) {
            return -EINVAL;
        }
        k = (size_t)(end - q - 2);
        if (k >= sizeof key || memchr(q + 1, quote, k) != NULL) {
            return -EINVAL;
        }
        memcpy(key, q + 1, k);
        key[k] = '\0';
        val = "";
        for (size_t i = 0; i < nlabels; i++) {
            if (strcmp(labels[i].key, key) == 0) {
                val = labels[i].value;
            }
        }
    } else {
        return -EINVAL;
    }
    if (norm) {
        docker_normalize(val, out, size);
    } else {
        snprintf(out, size, "%s", val);
    }
    return 0;
}

int docker_render_rule(const char *tpl, const char *name, const char *container_name,
                       const struct label_kv *labels, size_t nlabels, char *out, size_t size,
                       char *msg, size_t msize)
{
    size_t n = 0;
    const char *s = tpl;
    out[0] = '\0';
    while (*s != '\0') {
        const char *open = strstr(s, "{{"), *close, *a, *b;
        char val[RULE_MAX_LEN];
        size_t lit = open ? (size_t)(open - s) : strlen(s);
        if (n + lit >= size) {
            snprintf(msg, msize, "defaultRule: the rule is longer than %zu bytes", size - 1);
            return -EINVAL;
        }
        memcpy(out + n, s, lit);
        n += lit;
        out[n] = '\0';
        if (open == NULL) {
            break;
        }
        close = strstr(open + 2, "}}");
        if (close == NULL) {
            snprintf(msg, msize, "defaultRule: unterminated \"{{\"");
            return -EINVAL;
        }
        a = open + 2;
        b = close;
        if (*a == '-') { /* trim markers: the spaces they trim are the literal's, none here */
            a++;
        }
        if (b > a && b[-1] == '-') {
            b--;
        }
        a = skip_ws(a);
        while (b > a && isspace((unsigned char)b[-1])) {
            b--;
        }
        if (eval_action(a, (size_t)(b - a), name, container_name, labels, nlabels, val,
                        sizeof val) != 0) {
            snprintf(msg, msize,
                     "defaultRule: unsupported template action \"%.*s\" (supported: .Name, "
                     ".ContainerName, index .Labels \"key\", each optionally in normalize)",
                     (int)(close + 2 - open), open);
            return -EINVAL;
        }
        if (n + strlen(val) >= size) {
            snprintf(msg, msize, "defaultRule: the rule is longer than %zu bytes", size - 1);
            return -EINVAL;
        }
        strcpy(out + n, val);
        n += strlen(val);
        s = close + 2;
    }
    return 0;
}

/* `proxyctl snapshot save FILE`: a consistent copy of the cluster state, for backups. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/client.h"
#include "ctl/cmd.h"
#include "ctl/cmdline.h"

static const char snapshot_usage[] =
    "usage: proxyctl snapshot save FILE\n"
    "Downloads a consistent copy of the replicated state (GET /api/cluster/snapshot, taken by\n"
    "the leader after a barrier; protobuf concord.raftlog.Snapshot) into FILE. The bytes go\n"
    "to FILE.tmp first, which is synced and then renamed over FILE (and the folder synced), so\n"
    "FILE is never half written.\n"
    "exit codes: 0 saved, 1 the endpoint answered with an error, 2 usage error, FILE cannot be\n"
    "            written, or unreadable token file, 3 no endpoint reachable or token refused\n";

/* Makes the rename durable: syncs the folder that holds `path` (best effort: a folder that
 * cannot be opened for reading still got the file). */
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir =
        slash == NULL ? strdup(".") : strndup(path, slash == path ? 1 : (size_t)(slash - path));
    int fd = dir != NULL ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Writes the bytes to path.tmp, syncs, renames over path. 0 or -errno. */
static int save_atomically(const char *path, const char *data, size_t len)
{
    size_t n = strlen(path) + 5, off = 0;
    char *tmp = malloc(n);
    int fd, rc = 0;
    if (tmp == NULL) {
        return -ENOMEM;
    }
    snprintf(tmp, n, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        goto err_after_alloc;
    }
    while (off < len && rc == 0) {
        ssize_t w = write(fd, data + off, len - off);
        if (w > 0) {
            off += (size_t)w;
        } else if (w < 0 && errno != EINTR) {
            rc = -errno;
        }
    }
    if (rc == 0 && fsync(fd) != 0) {
        rc = -errno;
    }
    if (close(fd) != 0 && rc == 0) {
        rc = -errno;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -errno;
    }
    if (rc == 0) {
        sync_dir(path);
    }
    if (rc != 0) {
        unlink(tmp);
    }
err_after_alloc:
    free(tmp);
    return rc;
}

int cmd_snapshot_save(const struct ctl_globals *g, int argc, char **argv)
{
    static const char who[] = "proxyctl snapshot save";
    const char *pos[1];
    struct ctl_req rq = {.method = "GET", .path = "/api/cluster/snapshot"};
    struct ctl_resp r;
    int npos, rc = ctl_args(who, snapshot_usage, argc, argv, NULL, 0, pos, 1, 1, &npos);
    if (rc != CTL_ARGS_OK) {
        return ctl_args_exit(rc);
    }
    if ((rc = ctl_do(g, who, &rq, &r)) != CTL_EXIT_OK) {
        return rc;
    }
    if (r.status != 200) {
        struct ctl_answer a = {.status = r.status, .raw = r};
        snprintf(a.endpoint, sizeof a.endpoint, "%s", r.endpoint);
        if (jv_parse(r.body, r.len, &a.doc) != 0) {
            memset(&a.doc, 0, sizeof a.doc);
        }
        rc = ctl_refused(who, &a);
        ctl_answer_fini(&a);
        return rc;
    }
    rc = save_atomically(pos[0], r.body, r.len);
    if (rc != 0) {
        fprintf(stderr, "%s: %s: %s\n", who, pos[0], strerror(-rc));
        rc = CTL_EXIT_USAGE;
    } else {
        printf("saved snapshot (%zu bytes) to %s\n", r.len, pos[0]);
    }
    ctl_resp_free(&r);
    return rc;
}

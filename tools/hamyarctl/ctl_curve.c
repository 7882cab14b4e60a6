/*
 * ctl_curve.c — hamyarctl curve keygen: the CURVE key pairs of a deployment.
 *
 * Each process that talks across hosts has a pair NAME.key (secret, 0600) / NAME.pub in the
 * directory its HY_CURVE_DIR names; every *.pub there is the allow-list (shared/curve.h). The
 * operator makes them all once with --all, then gives each host its own .key and every .pub
 * (docker-compose.yml does this with secrets). A pair that exists is kept, never replaced, so
 * --all can be run again after a service is added; a half pair (one file of the two) is an
 * error to look at, not something to paper over.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "curve.h"

/* Key names become file names and are matched by the services: keep them plain. */
static bool s_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '-' || name[i] == '_'))
            return false;
    return true;
}

static bool s_exists(const char *dir, const char *name, const char *ext)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    return stat(path, &st) == 0;
}

/* mkdir -p of every parent of dir (hy_curve_keygen makes dir itself, 0700). */
static int s_mkdir_parents(const char *dir)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

/* Prints the public key of NAME, as a check that the pair is there and readable. */
static void s_print_pub(const char *dir, const char *name, const char *what)
{
    char path[4096], pub[64] = "";
    snprintf(path, sizeof path, "%s/%s.pub", dir, name);
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(pub, sizeof pub, f))
            pub[0] = '\0';
        fclose(f);
    }
    pub[strcspn(pub, "\r\n")] = '\0';
    printf("%-12s %-8s %s\n", name, what, pub);
}

/* Makes the pair of one name; 0 made or kept, 1 failed. */
static int s_keygen_one(const char *dir, const char *name)
{
    bool has_key = s_exists(dir, name, "key"), has_pub = s_exists(dir, name, "pub");
    if (has_key && has_pub) {
        s_print_pub(dir, name, "kept");
        return 0;
    }
    if (has_key || has_pub) {
        fprintf(stderr, "hamyarctl: %s/%s.%s exists without its %s: remove it or restore the "
                        "missing file\n", dir, name, has_key ? "key" : "pub", has_key ? ".pub" : ".key");
        return 1;
    }
    if (hy_curve_keygen(dir, name) != 0) {
        fprintf(stderr, "hamyarctl: cannot make the key pair %s in %s: %s\n", name, dir,
                strerror(errno));
        return 1;
    }
    s_print_pub(dir, name, "made");
    return 0;
}

int ctl_curve(const char *verb, int argc, char **argv)
{
    const char *dir = NULL, *all = NULL;
    const char *names[64];
    const ctl_opt_t opts[] = { { "dir", false, &dir }, { "all", true, &all }, { 0 } };
    int n = ctl_parse(argc, argv, opts, names, 64);
    if (strcmp(verb, "keygen") != 0 || n < 0 || (n == 0) == !all) {
        ctl_usage();
        return CTL_EXIT_USAGE;
    }
    if (!dir) {
        dir = getenv("HY_CURVE_DIR");
        if (!dir || !*dir) {
            fprintf(stderr, "hamyarctl: say where the keys go: --dir DIR (or HY_CURVE_DIR)\n");
            return CTL_EXIT_USAGE;
        }
    }
    if (all) {
        n = 0;
        for (const char *const *k = ctl_key_names; *k; k++)
            names[n++] = *k;
    }
    for (int i = 0; i < n; i++) {
        if (!s_name_valid(names[i])) {
            fprintf(stderr, "hamyarctl: a key name is 1..32 characters of a-z 0-9 - _: %s\n",
                    names[i]);
            return CTL_EXIT_USAGE;
        }
    }
    /* The .pub files stay 0644 (umask permitting) and the .key files 0600: hy_curve_keygen
     * sets both; the directory's parents are made here. */
    if (s_mkdir_parents(dir) != 0) {
        fprintf(stderr, "hamyarctl: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    int failed = 0;
    for (int i = 0; i < n; i++)
        failed |= s_keygen_one(dir, names[i]);
    if (!failed)
        fprintf(stderr, "keys in %s: give each process its NAME.key and every *.pub; the .key "
                        "files are secret\n", dir);
    return failed ? 1 : 0;
}

/*
 * keys.h — API keys: their text form, the keys file, and verification for the gateway.
 *
 * A key is the text "hy_<key_id>_<secret>": key_id is 1..32 characters of [A-Za-z0-9-] and
 * names the key in logs, audit trails and the keys file; secret is 43 base64url characters
 * (32 random bytes). The server never stores the secret, only the SHA-256 of the whole key
 * text, one line per key:
 *
 *     <key_id> <role> <office|-> <sha256 hex of the key text> <active|revoked>
 *
 * Lines starting with '#' and blank lines are comments. hamyarctl writes the file (atomically,
 * mode 0600); the gateway reads it and reloads it when it changes. Both share this code, so
 * they cannot disagree on the format.
 */
#ifndef HY_KEYS_H
#define HY_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#define HY_KEY_ID_MAX     32   /* characters of a key id */
#define HY_KEY_SECRET_LEN 43   /* base64url characters of 32 bytes, no padding */
#define HY_KEY_OFFICE_MAX 63   /* bytes of an office name */
#define HY_KEY_ROLE_MAX   31
/* "hy_" id "_" secret NUL */
#define HY_KEY_TOKEN_SIZE (3 + HY_KEY_ID_MAX + 1 + HY_KEY_SECRET_LEN + 1)
#define HY_KEY_HASH_LEN   32   /* crypto_hash_sha256_BYTES */

/* One line of the keys file. office is "" when the key acts for no office. */
typedef struct {
    char key_id[HY_KEY_ID_MAX + 1];
    char role[HY_KEY_ROLE_MAX + 1];
    char office[HY_KEY_OFFICE_MAX + 1];
    unsigned char hash[HY_KEY_HASH_LEN];
    bool active;
} hy_key_entry_t;

/* Initialises libsodium (idempotent, thread-safe). Returns 0, or -1 when it cannot start.
 * Every other function here assumes it has been called once. */
int hy_keys_init(void);

/* true when key_id is 1..HY_KEY_ID_MAX characters of [A-Za-z0-9-]. */
bool hy_key_id_valid(const char *key_id);
/* true when office is 1..HY_KEY_OFFICE_MAX bytes of valid UTF-8 with no white space or
 * control characters, and is not "-" (which the file uses for "none"). */
bool hy_key_office_valid(const char *office);
/* Returns the role bit for a role a key may have (any HY_ROLE_* except HY_ROLE_SERVICE),
 * or 0. */
unsigned hy_key_role_bit(const char *role);

/* Reads the key id out of a key text. Returns 0 and fills key_id, or -1 when the text is not
 * of the form hy_<key_id>_<43 base64url characters>. */
int hy_key_token_parse(const char *token, char key_id[HY_KEY_ID_MAX + 1]);

/* The SHA-256 of a key text (the whole text, as sent). */
void hy_key_hash(const char *token, unsigned char hash[HY_KEY_HASH_LEN]);

/* Makes a new key for key_id with a fresh random secret. Writes the key text into token and
 * its hash into hash. Returns 0, or -1 when key_id is not valid. */
int hy_key_generate(const char *key_id, char token[HY_KEY_TOKEN_SIZE],
                    unsigned char hash[HY_KEY_HASH_LEN]);

/* Parses one line of the keys file (without or with its trailing newline).
 * Returns 1 and fills out for a key line, 0 for a comment or blank line, -1 when malformed. */
int hy_key_line_parse(const char *line, hy_key_entry_t *out);

/* Formats e as one line of the keys file, without newline. Returns the length, or -1 when it
 * does not fit in size bytes. */
int hy_key_line_format(const hy_key_entry_t *e, char *buf, size_t size);

/* --- the keys file as lines (for hamyarctl: edits keep comments and unknown lines) ---------- */
typedef struct {
    char *text;           /* the line without newline; owned */
    int kind;             /* 1 key, 0 comment or blank, -1 malformed */
    hy_key_entry_t key;   /* when kind == 1 */
} hy_keyline_t;

typedef struct {
    hy_keyline_t *lines;
    size_t count, alloc;
} hy_keyfile_t;

/* Loads path into f (which must be zeroed or cleared). A missing file loads as empty.
 * Returns 0, or -1 with errno set when the file cannot be read. */
int hy_keyfile_load(hy_keyfile_t *f, const char *path);
/* Writes f to path atomically: a temporary file in the same directory, mode 0600, fsync,
 * rename. Returns 0, or -1 with errno set. */
int hy_keyfile_save(const hy_keyfile_t *f, const char *path);
/* Appends a key line. Returns 0, or -1 on allocation failure. */
int hy_keyfile_append(hy_keyfile_t *f, const hy_key_entry_t *e);
/* Rewrites the text of line i from its key (after changing it). Returns 0 or -1. */
int hy_keyfile_update(hy_keyfile_t *f, size_t i);
/* Index of the first key line with key_id, or -1. */
long hy_keyfile_find(const hy_keyfile_t *f, const char *key_id);
/* Frees every line; f can be loaded again. */
void hy_keyfile_clear(hy_keyfile_t *f);

/* --- the gateway's verifier ------------------------------------------------------------------ */
typedef struct hy_keys hy_keys_t;

/* Called with a one-line message when the file has bad lines or cannot be read. */
typedef void (hy_keys_warn_fn)(const char *msg);

/* Loads the keys file at path (a missing file means no keys, with a warning). path is copied.
 * warn may be NULL. Returns NULL on allocation failure. */
hy_keys_t *hy_keys_new(const char *path, hy_keys_warn_fn *warn);
/* Destroys the verifier; safe to call twice; sets *self_p to NULL. */
void hy_keys_destroy(hy_keys_t **self_p);

enum {
    HY_KEY_OK = 0,
    HY_KEY_MALFORMED = -1,  /* not a key text */
    HY_KEY_UNKNOWN = -2,    /* no such key id (or the id appears twice in the file) */
    HY_KEY_REVOKED = -3,
    HY_KEY_WRONG = -4,      /* the id exists but the secret does not match */
};
/* Checks a key text. On HY_KEY_OK copies the key's entry into out. Safe from any thread; at
 * most once a second it looks whether the file changed and reloads it. Comparison of hashes
 * is constant-time. */
int hy_keys_verify(hy_keys_t *self, const char *token, hy_key_entry_t *out);
/* Reloads the file now if it changed (used by tests and by hy_keys_verify). Returns the
 * number of keys loaded, or -1 when the file could not be read (no keys are then valid). */
int hy_keys_reload(hy_keys_t *self);

#endif

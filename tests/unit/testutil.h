/*
 * testutil.h — small helpers the unit tests share: temporary directories.
 */
#ifndef HY_TESTUTIL_H
#define HY_TESTUTIL_H

/* Creates a fresh directory under /tmp; buf holds at least 64 bytes. */
void hy_test_tmpdir(char *buf);
/* Removes a directory and the files in it (one level, as LMDB leaves them). */
void hy_test_rmdir(const char *dir);

#endif

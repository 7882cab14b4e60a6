/*
 * flusher.h — a thread that starts the writeback of a commit's pages while they are written
 * (flusher.c). hy_store_commit uses it; nothing else needs to.
 */
#ifndef HY_FLUSHER_H
#define HY_FLUSHER_H

typedef struct hy_flusher hy_flusher_t;

/* Starts the thread for the data file fd (the caller keeps the fd open). NULL on failure. */
hy_flusher_t *hy_flusher_new(int fd);

/* Stops and joins the thread; safe on NULL; sets *self_p to NULL. */
void hy_flusher_destroy(hy_flusher_t **self_p);

/* Around one commit: between begin and end the thread starts writeback every tick. Both are
 * no-ops on NULL. */
void hy_flusher_begin(hy_flusher_t *self);
void hy_flusher_end(hy_flusher_t *self);

/* How many times the thread has started writeback (tests). */
unsigned long hy_flusher_calls(hy_flusher_t *self);

#endif

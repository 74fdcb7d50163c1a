/*
 * async_runtime.c - MLIR's async runtime ABI on POSIX threads.
 *
 * Threaded pattern convs go through upstream `async-parallel-for` and
 * `convert-async-to-llvm`, which call the `mlirAsyncRuntime*` functions below.
 * Every target uses this file: saved shared libraries (host and arm64) link it,
 * and the host JIT loads it as a shared library. MLIR's own
 * libmlir_async_runtime.so is not used: no ARM64 build of it exists here, and
 * its engine-destroy hook resets the process-wide runtime when the first JIT
 * engine dies, so the next threaded engine crashes.
 * The semantics follow the ABI's contract
 * (mlir/ExecutionEngine/AsyncRuntime.h):
 *
 *  - tokens and values start with two references (the caller's and the task's
 *    that emplaces them) and drop one when emplaced; groups start with one;
 *  - a group counts down `size` pending tokens and then runs its awaiters;
 *  - `...AndExecute` resumes the coroutine when the object becomes ready,
 *    `mlirAsyncRuntimeExecute` resumes it on a worker thread.
 *
 * Awaiters run after the object's lock is released, so a resumed coroutine may
 * drop the last reference of the object that woke it.
 *
 * Worker threads: $PATTERN_MLIR_NUM_THREADS, else one fewer than the online
 * CPUs (at least one): async-parallel-for runs a loop's first block on the
 * calling thread, so the caller is the remaining worker. A worker per CPU
 * put three spinning threads on two cores, slower and less steady than one
 * worker (measured: docs/design.md, section 10).
 * `pattern_mlir_async_tasks` counts the tasks handed to them (tests read it to
 * see that parallel loops really were split).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

typedef void *CoroHandle;
typedef void (*CoroResume)(void *);

/* ---- bounded spinning ------------------------------------------------------
 *
 * A model is a chain of parallel loops a few microseconds to milliseconds long.
 * A thread that sleeps on a condition variable between them pays a futex wake
 * (tens of microseconds on a virtual machine) per loop, which at two threads
 * made small models slower than at one. Waiters therefore poll for SPIN_NS
 * before they sleep. */

enum { SPIN_NS = 200 * 1000 };

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Polls until `*flag` is nonzero (true) or SPIN_NS pass (false). */
static bool spin_until_nonzero(_Atomic int64_t *flag) {
  int64_t deadline = 0;
  for (unsigned i = 0;; ++i) {
    if (atomic_load_explicit(flag, memory_order_acquire))
      return true;
    cpu_relax();
    if ((i & 255) == 255) {
      int64_t t = now_ns();
      if (!deadline)
        deadline = t + SPIN_NS;
      else if (t > deadline)
        return false;
    }
  }
}

/* ---- awaiters: closures run once when an object becomes ready ------------ */

typedef struct Awaiter {
  void (*run)(void *, void *);
  void *first, *second;
  struct Awaiter *next;
} Awaiter;

static void resume_coroutine(void *handle, void *resume) {
  ((CoroResume)resume)(handle);
}

static void run_awaiters(Awaiter *list) {
  while (list) {
    Awaiter *next = list->next;
    list->run(list->first, list->second);
    free(list);
    list = next;
  }
}

/* ---- reference-counted runtime objects: tokens, values and groups -------- */

enum { UNAVAILABLE = 0, AVAILABLE = 1, ERROR = 2 };

typedef struct Object {
  _Atomic int64_t refs;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  Awaiter *awaiters;
  int state;            /* tokens and values; guarded by mu */
  int pending;          /* groups: tokens not ready yet; guarded by mu */
  _Atomic int64_t done; /* groups: pending reached 0; polled without mu */
  int errors;           /* groups: tokens that became errors; guarded by mu */
  int rank;             /* groups: tokens added so far; guarded by mu */
  void *storage;        /* values */
} Object;

static Object *new_object(int64_t refs) {
  Object *o = calloc(1, sizeof(Object));
  if (!o)
    abort();
  atomic_init(&o->refs, refs);
  pthread_mutex_init(&o->mu, NULL);
  pthread_cond_init(&o->cv, NULL);
  return o;
}

static void drop_ref(Object *o, int64_t count) {
  if (atomic_fetch_sub(&o->refs, count) != count)
    return;
  pthread_mutex_destroy(&o->mu);
  pthread_cond_destroy(&o->cv);
  free(o->storage);
  free(o);
}

static void add_awaiter(Object *o, void (*run)(void *, void *), void *first,
                        void *second) {
  Awaiter *a = malloc(sizeof(Awaiter));
  if (!a)
    abort();
  a->run = run;
  a->first = first;
  a->second = second;
  a->next = o->awaiters;
  o->awaiters = a;
}

void mlirAsyncRuntimeAddRef(void *object, int64_t count) {
  atomic_fetch_add(&((Object *)object)->refs, count);
}

void mlirAsyncRuntimeDropRef(void *object, int64_t count) {
  drop_ref(object, count);
}

void *mlirAsyncRuntimeCreateToken(void) { return new_object(2); }

void *mlirAsyncRuntimeCreateValue(int64_t size) {
  Object *value = new_object(2);
  value->storage = calloc(1, size > 0 ? (size_t)size : 1);
  if (!value->storage)
    abort();
  return value;
}

void *mlirAsyncRuntimeCreateGroup(int64_t size) {
  Object *group = new_object(1);
  group->pending = (int)size;
  atomic_init(&group->done, size == 0);
  return group;
}

/* Sets a token or value to its final state, wakes blocked waiters, runs the
 * others, then drops the reference the emplacing task held. */
static void set_state(Object *o, int state) {
  pthread_mutex_lock(&o->mu);
  o->state = state;
  Awaiter *ready = o->awaiters;
  o->awaiters = NULL;
  pthread_cond_broadcast(&o->cv);
  pthread_mutex_unlock(&o->mu);
  run_awaiters(ready);
  drop_ref(o, 1);
}

void mlirAsyncRuntimeEmplaceToken(void *token) { set_state(token, AVAILABLE); }
void mlirAsyncRuntimeEmplaceValue(void *value) { set_state(value, AVAILABLE); }
void mlirAsyncRuntimeSetTokenError(void *token) { set_state(token, ERROR); }
void mlirAsyncRuntimeSetValueError(void *value) { set_state(value, ERROR); }

static int state_of(Object *o) {
  pthread_mutex_lock(&o->mu);
  int state = o->state;
  pthread_mutex_unlock(&o->mu);
  return state;
}

bool mlirAsyncRuntimeIsTokenError(void *token) {
  return state_of(token) == ERROR;
}
bool mlirAsyncRuntimeIsValueError(void *value) {
  return state_of(value) == ERROR;
}

bool mlirAsyncRuntimeIsGroupError(void *group) {
  Object *g = group;
  pthread_mutex_lock(&g->mu);
  bool error = g->errors > 0;
  pthread_mutex_unlock(&g->mu);
  return error;
}

void *mlirAsyncRuntimeGetValueStorage(void *value) {
  return ((Object *)value)->storage;
}

/* One token of `group` is ready (with `error`): count it down; the last one
 * wakes and runs the group's awaiters. */
static void group_token_ready(Object *group, bool error) {
  pthread_mutex_lock(&group->mu);
  group->errors += error;
  Awaiter *ready = NULL;
  if (--group->pending == 0) {
    atomic_store_explicit(&group->done, 1, memory_order_release);
    ready = group->awaiters;
    group->awaiters = NULL;
    pthread_cond_broadcast(&group->cv);
  }
  pthread_mutex_unlock(&group->mu);
  run_awaiters(ready);
}

static void on_group_token(void *group, void *token) {
  group_token_ready(group, ((Object *)token)->state == ERROR);
  drop_ref(group, 1); /* taken when the awaiter was added */
}

int64_t mlirAsyncRuntimeAddTokenToGroup(void *token, void *group) {
  Object *t = token, *g = group;
  pthread_mutex_lock(&g->mu);
  int64_t rank = g->rank++;
  pthread_mutex_unlock(&g->mu);

  pthread_mutex_lock(&t->mu);
  if (t->state == UNAVAILABLE) {
    /* the group must outlive the token's awaiter */
    atomic_fetch_add(&g->refs, 1);
    add_awaiter(t, on_group_token, g, t);
    pthread_mutex_unlock(&t->mu);
  } else {
    bool error = t->state == ERROR;
    pthread_mutex_unlock(&t->mu);
    group_token_ready(g, error);
  }
  return rank;
}

/* ---- blocking waits ------------------------------------------------------ */

static void wait_ready(Object *o) {
  pthread_mutex_lock(&o->mu);
  while (o->state == UNAVAILABLE)
    pthread_cond_wait(&o->cv, &o->mu);
  pthread_mutex_unlock(&o->mu);
}

void mlirAsyncRuntimeAwaitToken(void *token) { wait_ready(token); }
void mlirAsyncRuntimeAwaitValue(void *value) { wait_ready(value); }

void mlirAsyncRuntimeAwaitAllInGroup(void *group) {
  Object *g = group;
  if (spin_until_nonzero(&g->done))
    return;
  pthread_mutex_lock(&g->mu);
  while (g->pending > 0)
    pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
}

/* ---- resume when ready --------------------------------------------------- */

static void resume_when(Object *o, bool ready_now, CoroHandle handle,
                        CoroResume resume) {
  if (!ready_now) {
    add_awaiter(o, resume_coroutine, handle, (void *)resume);
    pthread_mutex_unlock(&o->mu);
    return;
  }
  pthread_mutex_unlock(&o->mu);
  resume(handle);
}

void mlirAsyncRuntimeAwaitTokenAndExecute(void *token, CoroHandle handle,
                                          CoroResume resume) {
  Object *t = token;
  pthread_mutex_lock(&t->mu);
  resume_when(t, t->state != UNAVAILABLE, handle, resume);
}

void mlirAsyncRuntimeAwaitValueAndExecute(void *value, CoroHandle handle,
                                          CoroResume resume) {
  Object *v = value;
  pthread_mutex_lock(&v->mu);
  resume_when(v, v->state != UNAVAILABLE, handle, resume);
}

void mlirAsyncRuntimeAwaitAllInGroupAndExecute(void *group, CoroHandle handle,
                                               CoroResume resume) {
  Object *g = group;
  pthread_mutex_lock(&g->mu);
  resume_when(g, g->pending == 0, handle, resume);
}

/* ---- the worker pool ----------------------------------------------------- */

typedef struct Task {
  CoroHandle handle;
  CoroResume resume;
  struct Task *next;
} Task;

static struct {
  pthread_once_t once;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  Task *head, *tail;      /* guarded by mu */
  _Atomic int64_t queued; /* tasks in the list, polled without mu */
  int64_t workers;
} pool = {.once = PTHREAD_ONCE_INIT,
          .mu = PTHREAD_MUTEX_INITIALIZER,
          .cv = PTHREAD_COND_INITIALIZER};

static void *worker(void *unused) {
  (void)unused;
  for (;;) {
    spin_until_nonzero(&pool.queued);
    pthread_mutex_lock(&pool.mu);
    while (!pool.head)
      pthread_cond_wait(&pool.cv, &pool.mu);
    Task *task = pool.head;
    pool.head = task->next;
    if (!pool.head)
      pool.tail = NULL;
    atomic_fetch_sub_explicit(&pool.queued, 1, memory_order_relaxed);
    pthread_mutex_unlock(&pool.mu);
    task->resume(task->handle);
    free(task);
  }
  return NULL;
}

static void start_pool(void) {
  const char *env = getenv("PATTERN_MLIR_NUM_THREADS");
  long n = env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN) - 1;
  pool.workers = n > 0 ? n : 1;
  for (int64_t i = 0; i < pool.workers; ++i) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, worker, NULL) != 0)
      abort();
    pthread_detach(thread);
  }
}

_Atomic int64_t pattern_mlir_async_tasks = 0;

void mlirAsyncRuntimeExecute(CoroHandle handle, CoroResume resume) {
  pthread_once(&pool.once, start_pool);
  atomic_fetch_add(&pattern_mlir_async_tasks, 1);
  Task *task = malloc(sizeof(Task));
  if (!task)
    abort();
  task->handle = handle;
  task->resume = resume;
  task->next = NULL;
  pthread_mutex_lock(&pool.mu);
  if (pool.tail)
    pool.tail->next = task;
  else
    pool.head = task;
  pool.tail = task;
  atomic_fetch_add_explicit(&pool.queued, 1, memory_order_release);
  pthread_cond_signal(&pool.cv);
  pthread_mutex_unlock(&pool.mu);
}

/* The spelling (no 'e') is the ABI's. */
int64_t mlirAsyncRuntimGetNumWorkerThreads(void) {
  pthread_once(&pool.once, start_pool);
  return pool.workers;
}

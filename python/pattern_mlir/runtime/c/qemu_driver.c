/* Template of the driver that runs a shared object's functions under
 * qemu-aarch64: runtime/aarch64.py writes one stub per exported function and
 * its switch cases into the two marked lines and cross-compiles the result. It
 * calls the functions on buffers read from files; runtime/aarch64.py's
 * docstring gives the ABI and the manifest format. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN 64
#define GUARD 64
#define GUARD_BYTE 0xA5
#define MAX_RANK 32

typedef struct {
  char *base, *raw;
  int64_t nbytes, rank, offset, sizes[MAX_RANK], strides[MAX_RANK];
  char in_path[512], out_path[512];
} buf_t;

typedef struct {
  int is_memref;
  buf_t m;
  int64_t i64;
  int32_t i32;
  float f32;
  double f64;
} arg_t;

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "driver: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(2);
}

static void load(FILE *mf, arg_t *a, int call, int idx) {
  char tag[8];
  if (fscanf(mf, "%7s", tag) != 1)
    die("call %d arg %d: truncated manifest", call, idx);
  if (!strcmp(tag, "i64")) {
    if (fscanf(mf, "%" SCNd64, &a->i64) != 1)
      die("bad i64");
    return;
  }
  if (!strcmp(tag, "i32")) {
    if (fscanf(mf, "%" SCNd32, &a->i32) != 1)
      die("bad i32");
    return;
  }
  char num[64];
  if (!strcmp(tag, "f32") || !strcmp(tag, "f64")) {
    if (fscanf(mf, "%63s", num) != 1)
      die("call %d arg %d: bad float", call, idx);
    a->f32 = strtof(num, NULL);
    a->f64 = strtod(num, NULL);
    return;
  }
  if (strcmp(tag, "m"))
    die("call %d arg %d: unknown tag %s", call, idx, tag);
  buf_t *m = &a->m;
  a->is_memref = 1;
  if (fscanf(mf, "%" SCNd64 " %" SCNd64 " %511s %511s", &m->rank, &m->nbytes,
             m->in_path, m->out_path) != 4 ||
      m->rank < 0 || m->rank > MAX_RANK)
    die("call %d arg %d: bad memref header", call, idx);
  for (int64_t d = 0; d < m->rank; ++d)
    if (fscanf(mf, "%" SCNd64, &m->sizes[d]) != 1)
      die("call %d arg %d: bad size", call, idx);
  for (int64_t d = 0; d < m->rank; ++d)
    if (fscanf(mf, "%" SCNd64, &m->strides[d]) != 1)
      die("call %d arg %d: bad stride", call, idx);
  m->offset = 0;
  void *raw = NULL;
  if (posix_memalign(&raw, ALIGN, (size_t)(m->nbytes + 2 * GUARD)))
    die("call %d arg %d: cannot allocate %" PRId64 " bytes", call, idx,
        m->nbytes);
  m->raw = raw;
  m->base = m->raw + GUARD;
  memset(m->raw, GUARD_BYTE, (size_t)(m->nbytes + 2 * GUARD));
  FILE *f = fopen(m->in_path, "rb");
  if (!f)
    die("call %d arg %d: cannot open %s", call, idx, m->in_path);
  if ((int64_t)fread(m->base, 1, (size_t)m->nbytes, f) != m->nbytes)
    die("call %d arg %d: %s is shorter than %" PRId64 " bytes", call, idx,
        m->in_path, m->nbytes);
  fclose(f);
}

static void finish(arg_t *a, int call, int idx) {
  if (!a->is_memref)
    return;
  buf_t *m = &a->m;
  for (int64_t i = 0; i < GUARD; ++i) {
    if ((unsigned char)m->raw[i] != GUARD_BYTE)
      die("call %d arg %d: memory before the buffer was overwritten "
          "(out-of-bounds write)",
          call, idx);
    if ((unsigned char)m->base[m->nbytes + i] != GUARD_BYTE)
      die("call %d arg %d: memory after the buffer was overwritten "
          "(out-of-bounds write)",
          call, idx);
  }
  if (strcmp(m->out_path, "-")) {
    FILE *f = fopen(m->out_path, "wb");
    if (!f || (int64_t)fwrite(m->base, 1, (size_t)m->nbytes, f) != m->nbytes)
      die("call %d arg %d: cannot write %s", call, idx, m->out_path);
    fclose(f);
  }
}

/* @STUBS@ */

int main(int argc, char **argv) {
  if (argc != 2)
    die("usage: %s MANIFEST", argv[0]);
  FILE *mf = fopen(argv[1], "r");
  if (!mf)
    die("cannot open manifest %s", argv[1]);
  int ncalls;
  if (fscanf(mf, "%d", &ncalls) != 1)
    die("bad manifest header");
  for (int c = 0; c < ncalls; ++c) {
    int stub, nargs;
    if (fscanf(mf, "%d %d", &stub, &nargs) != 2)
      die("call %d: bad call header", c);
    arg_t *args = calloc((size_t)nargs + 1, sizeof(arg_t));
    if (!args)
      die("out of memory");
    for (int i = 0; i < nargs; ++i)
      load(mf, &args[i], c, i);
    printf("begin %d\n", c);
    fflush(stdout);
    switch (stub) {
      /* @CASES@ */
    default:
      die("call %d: unknown stub %d", c, stub);
    }
    for (int i = 0; i < nargs; ++i)
      finish(&args[i], c, i);
    for (int i = 0; i < nargs; ++i)
      if (args[i].is_memref)
        free(args[i].m.raw);
    free(args);
    printf("end %d\n", c);
    fflush(stdout);
  }
  fclose(mf);
  return 0;
}

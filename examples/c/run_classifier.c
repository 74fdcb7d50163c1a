/*
 * run_classifier.c - calls a model compiled by pattern-mlir for arm64-neon.
 *
 * pattern_mlir.compile(model, x, target="arm64-neon").save(DIR) writes
 * DIR/libmodel.so, whose C entry point is
 *
 *   void _mlir_ciface_forward(MemRef4D *input, MemRef2D *output);
 *
 * one pointer per model input, then one per model output, each to an MLIR
 * memref descriptor (below). Buffers are dense row-major float32; the caller
 * owns them. This example reads a 1xCxHxW input from a raw float32 file,
 * runs the model once and writes the 1xK output to another raw file.
 *
 * Build and run (see test/python/compiler/test_c_example.py):
 *   aarch64-linux-gnu-gcc -O2 run_classifier.c -L DIR -lmodel \
 *     -Wl,-rpath,DIR -o run
 *   qemu-aarch64 -L /usr/aarch64-linux-gnu ./run C H W K in.f32 out.f32
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
  float *allocated; /* pointer given to free(), unused by the model */
  float *aligned;   /* pointer to the first element */
  int64_t offset;   /* in elements, from aligned */
  int64_t sizes[4];
  int64_t strides[4]; /* in elements */
} MemRef4D;

typedef struct {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} MemRef2D;

void _mlir_ciface_forward(MemRef4D *input, MemRef2D *output);

static float *read_floats(const char *path, size_t count) {
  float *data = aligned_alloc(64, ((count * sizeof(float) + 63) / 64) * 64);
  FILE *file = fopen(path, "rb");
  if (!data || !file || fread(data, sizeof(float), count, file) != count) {
    fprintf(stderr, "cannot read %zu floats from %s\n", count, path);
    exit(1);
  }
  fclose(file);
  return data;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: %s C H W K input.f32 output.f32\n", argv[0]);
    return 2;
  }
  int64_t c = atoll(argv[1]), h = atoll(argv[2]), w = atoll(argv[3]);
  int64_t k = atoll(argv[4]);
  float *x = read_floats(argv[5], (size_t)(c * h * w));
  float *y = aligned_alloc(64, ((k * sizeof(float) + 63) / 64) * 64);

  MemRef4D input = {x, x, 0, {1, c, h, w}, {c * h * w, h * w, w, 1}};
  MemRef2D output = {y, y, 0, {1, k}, {k, 1}};
  _mlir_ciface_forward(&input, &output);

  FILE *out = fopen(argv[6], "wb");
  if (!out || fwrite(y, sizeof(float), (size_t)k, out) != (size_t)k) {
    fprintf(stderr, "cannot write %s\n", argv[6]);
    return 1;
  }
  fclose(out);
  int64_t best = 0;
  for (int64_t i = 1; i < k; ++i)
    if (y[i] > y[best])
      best = i;
  printf("class %lld\n", (long long)best);
  free(x);
  free(y);
  return 0;
}

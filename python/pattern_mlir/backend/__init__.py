"""From the LLVM and SPIR-V dialects to machine code: the LLVM lowering pipeline, llc and
shared libraries, the host JIT of single layers, weight blobs, SPIR-V tools and llvm-mca."""

// RUN: pattern-opt %s -verify-diagnostics --pattern-inline-resources

// A blob shorter than its type (4 bytes of data for two f32) is refused at the constant.
func.func @weights() -> tensor<2xf32> {
  // expected-error @+1 {{'arith.constant' holds a dense_resource blob that cannot be read}}
  %c = arith.constant dense_resource<blob> : tensor<2xf32>
  return %c : tensor<2xf32>
}

{-#
  dialect_resources: {
    builtin: {
      blob: "0x040000000000803F"
    }
  }
#-}

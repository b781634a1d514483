/**
 * VECTORIZED and FUSED on planar tensors, where each channel's values run contiguous (NCHW, NCL, NCDHW, and a single channel in any layout): one file per variant, the inference both share, and how the tensor is cut into blocks and planes for the threads.
 *
 * <p>Internal: the module does not export this package, and it may change in any release.
 */
package io.github.batchnorm4j.internal.kernel.planar;

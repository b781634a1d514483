/**
 * VECTORIZED and FUSED on rows, where the channels of a position sit side by side (NHWC, NDHWC, 2-D): one file per variant, the inference and backward both share, and how the rows are cut into chunks for the threads.
 *
 * <p>Internal: the module does not export this package, and it may change in any release.
 */
package io.github.batchnorm4j.internal.kernel.rows;

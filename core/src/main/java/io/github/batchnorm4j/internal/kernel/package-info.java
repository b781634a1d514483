/**
 * The kernels behind {@code BatchNorm}: the interface every variant implements, the records a call travels in, the plan that picks a path, and the per-channel arithmetic every layout shares.
 *
 * <p>Internal: the module does not export this package, and it may change in any release.
 */
package io.github.batchnorm4j.internal.kernel;

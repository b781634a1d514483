/**
 * NAIVE: the textbook passes in scalar loops, the readable reference, any layout.
 *
 * <p>Internal: the module does not export this package, and it may change in any release.
 */
package io.github.batchnorm4j.internal.kernel.naive;

/**
 * The innermost sweeps the fast variants are built from: one interface, a scalar implementation and a Vector API twin, picked at start-up.
 *
 * <p>Internal: the module does not export this package, and it may change in any release.
 */
package io.github.batchnorm4j.internal.loops;

/**
 * Argument checks, each naming the argument and the value expected, run before any kernel writes.
 *
 * <p>Internal: the module does not export this package, and it may change in any release.
 */
package io.github.batchnorm4j.internal.check;

/**
 * The calling thread and a fork-join pool running numbered tasks together.
 *
 * <p>Internal: the module does not export this package, and it may change in any release.
 */
package io.github.batchnorm4j.internal.parallel;

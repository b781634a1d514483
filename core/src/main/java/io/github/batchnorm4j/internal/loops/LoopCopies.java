package io.github.batchnorm4j.internal.loops;

import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;

/**
 * Copies of a loops class, one per kind of tensor memory. The JIT keeps one type profile per
 * method, and the Vector API compiles a load to a plain instruction only where it knows the
 * segment's class: loops that see heap and native segments alike fall back to generic code,
 * several times slower (jmh/RESULTS.md, "Tensors in memory segments"). A hidden class defined
 * from the same bytes runs the same code with profiles of its own.
 */
public final class LoopCopies {
    private LoopCopies() {}

    /**
     * A new instance of a fresh copy of {@code loops}' class.
     *
     * @throws IllegalStateException if the class file cannot be read or defined again
     */
    public static Loops copyOf(Loops loops) {
        Class<?> type = loops.getClass();
        try (InputStream in = type.getResourceAsStream(type.getSimpleName() + ".class")) {
            if (in == null) {
                throw new IllegalStateException("the class file of " + type.getName() + " is not readable");
            }
            Class<?> copy = MethodHandles.lookup().defineHiddenClass(in.readAllBytes(), true).lookupClass();
            return (Loops) copy.getDeclaredConstructor().newInstance();
        } catch (IOException | ReflectiveOperationException e) {
            throw new IllegalStateException("cannot copy " + type.getName(), e);
        }
    }
}

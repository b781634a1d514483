package io.github.batchnorm4j.dl4j.example;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/** Reads the IDX files MNIST and Fashion-MNIST come in, gzipped or not. */
final class Idx {
    private Idx() {}

    /** Unsigned bytes, the type of every MNIST file. */
    private static final int UNSIGNED_BYTE = 0x08;

    /** An IDX array of unsigned bytes: its dimensions and its values in row-major order. */
    record Array(int[] dimensions, byte[] values) {
        int count() {
            return dimensions[0];
        }

        /** Elements per item: the product of the dimensions after the first. */
        int itemSize() {
            int size = 1;
            for (int d = 1; d < dimensions.length; d++) {
                size *= dimensions[d];
            }
            return size;
        }
    }

    static Array read(Path file) throws IOException {
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file));
                DataInputStream in = new DataInputStream(file.toString().endsWith(".gz") ? new GZIPInputStream(raw) : raw)) {
            int magic = in.readInt();
            int type = (magic >>> 8) & 0xff;
            int rank = magic & 0xff;
            if ((magic >>> 16) != 0 || type != UNSIGNED_BYTE || rank < 1) {
                throw new IOException(file + " is not an IDX file of unsigned bytes (magic number 0x"
                        + Integer.toHexString(magic) + ")");
            }
            int[] dimensions = new int[rank];
            long size = 1;
            for (int d = 0; d < rank; d++) {
                dimensions[d] = in.readInt();
                size *= dimensions[d];
            }
            if (size > Integer.MAX_VALUE - 8) {
                throw new IOException(file + " holds " + size + " values, more than an array can");
            }
            byte[] values = new byte[(int) size];
            in.readFully(values);
            return new Array(dimensions, values);
        }
    }
}

package io.havn.common.model;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * What havn does with a guest that libvirt paused on a disk I/O error (its storage stopped
 * answering), per VM ({@link VmSpec#onStorageError()}).
 */
public enum StorageErrorPolicy {
    /** Resume it once its storage answers again (the default): the guest goes on where it stopped. */
    @JsonProperty("resume") RESUME,
    /** Leave it paused for an operator. */
    @JsonProperty("leave-paused") LEAVE_PAUSED,
    /**
     * Destroy the paused copy and restart the VM on another host, but only when another host reaches
     * the VM's storage; the copy here is gone before the record lets anyone else start it.
     */
    @JsonProperty("restart-elsewhere") RESTART_ELSEWHERE;

    /** The name operators type and read: {@code resume}, {@code leave-paused}, {@code restart-elsewhere}. */
    public String word() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    /** The policy named {@code word}, or an exception naming the choices. */
    public static StorageErrorPolicy of(String word) {
        for (StorageErrorPolicy p : values()) {
            if (p.word().equals(word)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown storage error policy '" + word
                + "': expected resume, leave-paused or restart-elsewhere");
    }
}

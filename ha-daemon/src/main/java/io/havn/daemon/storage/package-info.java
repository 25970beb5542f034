/**
 * The storage heartbeat: every host writes a sealed record of what its watchdog enforces into its
 * own slot on each shared datastore, and reads every other host's, so that the cluster learns
 * which hosts reach which storage, and which hosts still write to it while their daemons are
 * silent. {@link io.havn.daemon.storage.StorageHeartbeat} runs it; {@link
 * io.havn.daemon.storage.StorageCheck} checks the datastores for {@code havnd --check-config}.
 */
package io.havn.daemon.storage;

package io.havn.common.port;

import io.havn.common.model.HostId;

/**
 * Fence devices (IPMI, Redfish, PDU...). {@link #powerOff} returns at once and reports a
 * {@code FenceDone} event: success only when the device confirmed the host is off. A failure or a
 * time-out is reported as a failure, never assumed a success.
 */
public interface Fencer {
    void powerOff(HostId host, String device);
}

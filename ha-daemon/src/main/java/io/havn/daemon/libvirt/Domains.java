package io.havn.daemon.libvirt;

import io.havn.common.model.VmId;
import io.havn.common.port.DomainInfo;
import io.havn.common.port.DomainState;
import io.havn.daemon.libvirt.DomainWatch.Seen;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.Error.ErrorNumber;
import org.libvirt.LibvirtException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The libvirt-java calls the adapter is made of, each run on a worker: look a domain up, list,
 * poll, destroy, turn autostart off. Domain handles are freed at once rather than left to
 * libvirt-java's finalizers.
 */
final class Domains {
    private static final Logger LOG = LoggerFactory.getLogger(Domains.class);

    private Domains() {
    }

    /** Destroys {@code vm}; a defined domain already off counts as destroyed. */
    static Void destroyNow(NativeConnect c, VmId vm, boolean goneIsOff) throws Exception {
        Domain d;
        try {
            d = lookup(c, vm);
        } catch (CallFailed e) {
            if (goneIsOff) {
                return null; // a transient domain vanishes when it stops
            }
            throw e;
        }
        try {
            d.destroy();
            return null;
        } catch (LibvirtException e) {
            if (isOff(d)) {
                return null; // it was off already: what the node asked for holds
            }
            throw e;
        } finally {
            free(d);
        }
    }

    /**
     * Every domain, whatever its state and whoever started it, with its autostart flag: defined ones
     * first, then active ones, so one started in between is listed as active. One that vanishes
     * while it is being looked at is left out.
     */
    static List<DomainInfo> listAll(NativeConnect c) throws LibvirtException {
        Map<VmId, DomainInfo> out = new LinkedHashMap<>();
        for (String name : c.listDefinedDomains()) {
            Domain d = byName(c, name);
            if (d != null) {
                try {
                    VmId vm = VmId.of(d.getUUIDString());
                    out.put(vm, new DomainInfo(vm, name, DomainState.SHUTOFF, d.getAutostart()));
                } catch (LibvirtException e) {
                    if (!LibvirtConnection.noDomain(e)) {
                        throw e;
                    }
                } finally {
                    free(d);
                }
            }
        }
        for (int id : c.listDomains()) {
            Domain d = byId(c, id);
            if (d != null) {
                try {
                    VmId vm = VmId.of(d.getUUIDString());
                    out.put(vm, new DomainInfo(vm, d.getName(), activeState(c, vm, d), d.getAutostart()));
                } catch (LibvirtException e) {
                    if (!LibvirtConnection.noDomain(e)) {
                        throw e;
                    }
                } finally {
                    free(d);
                }
            }
        }
        return List.copyOf(out.values());
    }

    /**
     * The state of the active domain {@code d}: a paused one by its paused reason, so that a guest
     * libvirt paused on a disk I/O error is listed as {@code PAUSED_STORAGE}.
     */
    private static DomainState activeState(NativeConnect c, VmId vm, Domain d) throws LibvirtException {
        org.libvirt.DomainInfo.DomainState raw = rawState(d);
        int reason = raw == org.libvirt.DomainInfo.DomainState.VIR_DOMAIN_PAUSED
                ? StateReasons.reason(c, vm, StateReasons.STATE_PAUSED) : StateReasons.UNKNOWN;
        return DomainStates.ofActive(raw, reason);
    }

    /**
     * Turns libvirt autostart off for {@code d} if it is on; returns whether it was on. A domain
     * without a persistent definition has none to turn off.
     */
    static boolean autostartOff(Domain d) throws LibvirtException {
        if (!d.getAutostart()) {
            return false;
        }
        d.setAutostart(false);
        return true;
    }

    /**
     * One poll: the active domains, and what became of the {@code known} ones that are no longer
     * active. {@code seq} is the watch's sequence number taken before asking libvirt anything.
     */
    static DomainWatch.Observation observe(NativeConnect c, long seq, Set<VmId> known) throws LibvirtException {
        Map<VmId, Seen> seen = new HashMap<>();
        for (int id : c.listDomains()) {
            Domain d = byId(c, id);
            if (d == null) {
                continue;
            }
            try {
                VmId vm = VmId.of(d.getUUIDString());
                DomainState s = DomainStates.ofActive(rawState(d));
                if (s == DomainState.SHUTOFF) {
                    continue; // stopped between the two calls: looked at below if known
                }
                if (s == DomainState.PAUSED) {
                    int reason = StateReasons.reason(c, vm, StateReasons.STATE_PAUSED);
                    if (!known.contains(vm) && DomainStates.migrationInProgress(reason)) {
                        seen.put(vm, Seen.unsettled()); // an incoming migration still under way
                    } else {
                        seen.put(vm, Seen.paused(DomainStates.ofPaused(reason), DomainStates.pauseCause(reason)));
                    }
                } else {
                    seen.put(vm, Seen.active(s));
                }
            } finally {
                free(d);
            }
        }
        for (VmId vm : known) {
            if (!seen.containsKey(vm)) {
                Seen s = stopped(c, vm);
                if (s != null) {
                    seen.put(vm, s);
                }
            }
        }
        return new DomainWatch.Observation(seq, seen);
    }

    /**
     * What became of a known domain missing from the active list; null when it is active again.
     * Only libvirt's own word counts as stopped: the domain is inactive, or it does not exist.
     */
    static Seen stopped(NativeConnect c, VmId vm) throws LibvirtException {
        Domain d;
        try {
            d = c.domainLookupByUUIDString(vm.value());
        } catch (LibvirtException e) {
            if (LibvirtConnection.noDomain(e)) {
                return Seen.stopped(DomainState.SHUTOFF, "domain is gone (stopped and undefined)");
            }
            throw e;
        }
        try {
            if (d.isActive() != 0) {
                return null;
            }
            int reason = StateReasons.reason(c, vm, StateReasons.STATE_SHUTOFF);
            return Seen.stopped(DomainStates.ofStopped(reason), DomainStates.stopCause(reason));
        } finally {
            free(d);
        }
    }

    static Domain lookup(Connect c, VmId vm) throws LibvirtException, CallFailed {
        try {
            Domain d = c.domainLookupByUUIDString(vm.value());
            if (d == null) {
                throw new CallFailed("no domain with UUID " + vm);
            }
            return d;
        } catch (LibvirtException e) {
            if (LibvirtConnection.noDomain(e) || e.getError() != null
                    && e.getError().getCode() == ErrorNumber.VIR_ERR_INVALID_ARG) {
                throw new CallFailed("no domain with UUID " + vm + " (" + LibvirtConnection.message(e) + ")");
            }
            throw e;
        }
    }

    /** The domain with this id, or null when it vanished since it was listed. */
    static Domain byId(Connect c, int id) throws LibvirtException {
        try {
            return c.domainLookupByID(id);
        } catch (LibvirtException e) {
            if (LibvirtConnection.noDomain(e)) {
                return null;
            }
            throw e;
        }
    }

    static Domain byName(Connect c, String name) throws LibvirtException {
        try {
            return c.domainLookupByName(name);
        } catch (LibvirtException e) {
            if (LibvirtConnection.noDomain(e)) {
                return null;
            }
            throw e;
        }
    }

    /** libvirt-java's state, or null for one it cannot name (its getInfo indexes past its enum). */
    static org.libvirt.DomainInfo.DomainState rawState(Domain d) throws LibvirtException {
        try {
            return d.getInfo().state;
        } catch (ArrayIndexOutOfBoundsException e) {
            return null;
        }
    }

    /** Whether the domain is not running; a transient domain vanishes when it stops. */
    static boolean isOff(Domain d) throws LibvirtException {
        try {
            return d.isActive() == 0;
        } catch (LibvirtException e) {
            if (LibvirtConnection.noDomain(e)) {
                return true;
            }
            throw e;
        }
    }

    static void closeQuietly(Connect c) {
        try {
            c.close();
        } catch (LibvirtException | RuntimeException e) {
            LOG.debug("closing a libvirt connection failed: {}", e.toString());
        }
    }

    /**
     * Closes {@code c} on a thread of its own, for a connection to another host: closing it sends
     * a request there, and a host that is gone (power lost, link down) leaves that request
     * unanswered until libvirt's keepalive gives up.
     */
    static void closeInBackground(Connect c) {
        Thread t = new Thread(() -> closeQuietly(c), "havn-libvirt-close");
        t.setDaemon(true);
        t.start();
    }

    static void free(Domain d) {
        if (d == null) {
            return;
        }
        try {
            d.free();
        } catch (LibvirtException | RuntimeException e) {
            LOG.debug("freeing a libvirt domain handle failed: {}", e.toString());
        }
    }
}

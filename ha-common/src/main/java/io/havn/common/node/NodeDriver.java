package io.havn.common.node;

import io.havn.common.port.Coordinator;
import io.havn.common.port.Hypervisor;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Objects;

/**
 * Carries a {@link Node}'s {@link Effect}s out on its ports, in the order the node decided them.
 * The only place where the node's decisions meet the ports; it decides nothing itself.
 *
 * <p>Threading: as the node, one thread. A port may answer synchronously (call back into
 * {@link #handle} while an effect is carried out): the answer's effects then queue behind the ones
 * already decided, so every effect runs in the order it was decided, and none runs inside another.
 */
public final class NodeDriver {
    private final Node node;
    private final NodePorts ports;
    private final ArrayDeque<Effect> queue = new ArrayDeque<>();
    private boolean running;

    public NodeDriver(Node node, NodePorts ports) {
        this.node = Objects.requireNonNull(node, "node");
        this.ports = Objects.requireNonNull(ports, "ports");
    }

    public Node node() {
        return node;
    }

    /** Starts the node and carries out what it asks first. */
    public void start() {
        carryOut(node.start());
    }

    /** Hands the node one event and carries out what it decides. Must run on the node's thread. */
    public void handle(NodeEvent event) {
        carryOut(node.handle(event));
    }

    /**
     * Carries {@code effects} out after any still queued. The first effect a port throws on ends
     * this call; the effects after it stay queued, ahead of anything else, for the next call.
     */
    void carryOut(List<Effect> effects) {
        if (running) {
            queue.addAll(effects); // called back from a port: these run after the ones decided before them
            return;
        }
        if (!queue.isEmpty()) {
            queue.addAll(effects); // left by a port that threw: those first
            effects = List.of();
        }
        running = true;
        try {
            Effect e;
            while ((e = queue.poll()) != null) {
                perform(e);
            }
            // the common case, read straight from the step's list (a heartbeat round is one per peer)
            for (int i = 0; i < effects.size(); i++) {
                try {
                    perform(effects.get(i));
                } catch (RuntimeException | Error failed) {
                    for (int k = effects.size() - 1; k > i; k--) {
                        queue.addFirst(effects.get(k)); // ahead of what a port added meanwhile
                    }
                    throw failed;
                }
            }
            while ((e = queue.poll()) != null) {
                perform(e); // what ports answered at once, in order
            }
        } finally {
            running = false;
        }
    }

    private void perform(Effect effect) {
        Coordinator c = ports.coordinator();
        Hypervisor hv = ports.hypervisor();
        if (effect instanceof Effect.Send e) {
            for (int i = 0; i < e.to().size(); i++) {
                ports.transport().send(e.to().get(i), e.heartbeats().get(i));
            }
        } else if (effect instanceof Effect.MonitorsChanged e) {
            ports.transport().monitors(e.peers());
        } else if (effect instanceof Effect.Record e) {
            ports.decisions().record(e.decision());
        } else if (effect instanceof Effect.Write e) {
            c.write(e.token(), e.ops());
        } else if (effect instanceof Effect.Confirm e) {
            c.confirm(e.token());
        } else if (effect instanceof Effect.OpenSession) {
            c.openSession();
        } else if (effect instanceof Effect.JoinElection) {
            c.joinElection();
        } else if (effect instanceof Effect.Resign) {
            c.resign();
        } else if (effect instanceof Effect.Evict e) {
            c.evict(e.host(), e.session());
        } else if (effect instanceof Effect.ClaimEpoch e) {
            c.claimEpoch(e.token());
        } else if (effect instanceof Effect.Scope e) {
            c.scope(e.scope());
        } else if (effect instanceof Effect.Follow e) {
            c.follow(e.vms());
        } else if (effect instanceof Effect.ListDomains) {
            hv.list();
        } else if (effect instanceof Effect.DisableAutostart e) {
            hv.disableAutostart(e.vm());
        } else if (effect instanceof Effect.Start e) {
            hv.start(e.spec());
        } else if (effect instanceof Effect.Resume e) {
            hv.resume(e.vm());
        } else if (effect instanceof Effect.Shutdown e) {
            hv.shutdown(e.vm(), e.timeoutMs());
        } else if (effect instanceof Effect.Destroy e) {
            hv.destroy(e.vm());
        } else if (effect instanceof Effect.Migrate e) {
            hv.migrate(e.vm(), e.target());
        } else if (effect instanceof Effect.PingAgent e) {
            hv.pingAgent(e.vm());
        } else if (effect instanceof Effect.Reset e) {
            hv.reset(e.vm());
        } else if (effect instanceof Effect.PowerOff e) {
            ports.fencer().powerOff(e.host(), e.device());
        } else if (effect instanceof Effect.ArmWatchdog e) {
            ports.watchdog().armUntil(e.deadlineNanos());
        } else if (effect instanceof Effect.ReleaseWatchdog) {
            ports.watchdog().release();
        } else if (effect instanceof Effect.Answer e) {
            ports.admin().reply(e.requestId(), e.reply());
        } else if (effect instanceof Effect.ScheduleTick e) {
            ports.scheduler().schedule(e.delayNanos(), () -> carryOut(node.tick()));
        } else {
            throw new IllegalArgumentException("no port carries out " + effect);
        }
    }
}

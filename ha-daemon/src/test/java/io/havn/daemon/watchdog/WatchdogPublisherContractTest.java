package io.havn.daemon.watchdog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.havn.common.port.Watchdog;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.io.TempDir;

/**
 * The watchdog contract on the daemon's {@link WatchdogPublisher} and the real petter
 * ({@link WatchdogPetter#run}, its command line and all) beside it, on real state and status files
 * in a temporary directory. The petter runs on a thread of its own, on a fake device, and ticks
 * only when the test asks ({@link Subject#guardKeepsAlive}), so both read the one fake monotonic
 * clock and nothing sleeps. The publisher checks the petter's pid as it does in the daemon: here
 * it is this JVM's, alive while the petter runs and gone from the status file once it stops.
 */
class WatchdogPublisherContractTest extends WatchdogContract {
    private static final long S = 1_000_000_000L;
    private static final long WATCHDOG_MS = 3_000;
    private static final long MAX_AHEAD_NANOS = 300 * S;
    private static final long WAIT_S = 10;

    @TempDir
    Path dir;

    @Override
    protected Subject newSubject() {
        return new PublisherSubject(dir);
    }

    private static final class PublisherSubject implements Subject {
        private final Path stateFile;
        private final Path device;
        private final AtomicLong clock = new AtomicLong(5_000 * S);
        private final AtomicInteger reboots = new AtomicInteger();
        private String bootId = StateFile.currentBootId();
        private WatchdogPublisher current;
        private Guard guard;

        PublisherSubject(Path dir) {
            this.stateFile = dir.resolve("watchdog.state");
            this.device = dir.resolve("watchdog0");
            this.current = publisher();
        }

        private WatchdogPublisher publisher() {
            return new WatchdogPublisher(new StateFile(stateFile, bootId),
                    new StatusFile(StatusFile.beside(stateFile), bootId), clock::get, MAX_AHEAD_NANOS, WATCHDOG_MS,
                    true, pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
        }

        @Override
        public Watchdog watchdog() {
            return current;
        }

        @Override
        public Watchdog restartDaemon() {
            current = publisher();
            return current;
        }

        /** A new boot id, and a monotonic clock begun again; the guard, of the old boot, is gone. */
        @Override
        public void reboot() {
            stopGuard();
            bootId = "rebooted-" + reboots.incrementAndGet();
            clock.set(2 * S);
        }

        @Override
        public long nowNanos() {
            return clock.get();
        }

        @Override
        public void advanceMs(long ms) {
            clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(ms));
        }

        @Override
        public long watchdogMs() {
            return WATCHDOG_MS;
        }

        @Override
        public void startGuard() {
            start(WATCHDOG_MS);
        }

        @Override
        public void startGuardSlowerThanW() {
            start(2 * WATCHDOG_MS);
        }

        private void start(long timeoutMs) {
            if (guard != null) {
                throw new IllegalStateException("the guard already runs");
            }
            guard = new Guard(timeoutMs);
        }

        @Override
        public void stopGuard() {
            if (guard != null) {
                guard.stop();
                guard = null;
            }
        }

        @Override
        public boolean guardKeepsAlive() {
            if (guard == null) {
                throw new IllegalStateException("no guard runs");
            }
            return guard.tick();
        }

        @Override
        public void close() {
            stopGuard();
        }

        /**
         * The petter on its own thread. Between two ticks it waits in its pause, where it hands
         * the test how many bytes the device got so far and takes the test's word: tick again, or
         * stop.
         */
        private final class Guard {
            private final FakeDevice dev = new FakeDevice();
            private final BlockingQueue<Integer> written = new LinkedBlockingQueue<>();
            private final BlockingQueue<Boolean> go = new LinkedBlockingQueue<>();
            private final AtomicInteger exit = new AtomicInteger(-1);
            private final Thread thread;
            private int seen;

            Guard(long timeoutMs) {
                String[] args = {"--state", stateFile.toString(), "--device", device.toString(),
                        "--timeout-ms", Long.toString(timeoutMs), "--interval-ms", "1000"};
                thread = new Thread(() -> exit.set(WatchdogPetter.run(args, dev.at(device), clock::get, nanos -> {
                    written.add(dev.written().length());
                    return go.take();
                }, () -> { })), "contract-petter");
                thread.setDaemon(true);
                thread.start();
                seen = awaitWritten("its first tick");
            }

            /** One tick at the clock's time: whether it petted the device. */
            boolean tick() {
                go.add(true);
                int now = awaitWritten("a tick");
                boolean petted = now > seen;
                seen = now;
                return petted;
            }

            void stop() {
                go.add(false);
                try {
                    thread.join(TimeUnit.SECONDS.toMillis(WAIT_S));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                assertFalse(thread.isAlive(), "the petter did not stop within " + WAIT_S + " s");
                assertEquals(WatchdogPetter.EXIT_OK, exit.get(), "the petter's exit status");
            }

            private int awaitWritten(String what) {
                Integer n;
                try {
                    n = written.poll(WAIT_S, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted waiting for the petter", e);
                }
                assertNotNull(n, "the petter did not come to " + what + " within " + WAIT_S + " s (exit "
                        + exit.get() + ")");
                return n;
            }
        }
    }
}

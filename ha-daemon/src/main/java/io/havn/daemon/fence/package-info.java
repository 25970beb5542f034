/**
 * The {@link io.havn.common.port.Fencer} port on fence-agents programs: {@link io.havn.daemon.fence.FenceAgentFencer}
 * and the configured {@link io.havn.daemon.fence.FenceDevice}s it runs. It translates only; when to
 * fence and what a result means for the VMs is decided by the node (Manager, rule 4 of DESIGN.md).
 *
 * <p>The fence-agents conventions relied on (ClusterLabs/fence-agents, doc/FenceAgentAPI.md):
 * <ul>
 * <li>An agent run without arguments reads {@code key=value} lines on stdin until end of input: no
 * spaces around '=', no line break in a value, the last of a repeated key wins, unknown keys are
 * ignored. The fencer writes the device's options, then {@code action=...} last, and closes stdin.
 * Options may not set {@code action} (nor its old name {@code option}).</li>
 * <li>{@code action=off} exits 0 when the device did it, 1 when not or when it could not tell.</li>
 * <li>{@code action=status} exits 0 for "on", 1 for "device unreachable", 2 for "off". Only 2 is
 * taken as off; anything else, including codes outside the API, means "ask again".</li>
 * <li>"Timeout is a failure, not success": an agent still running at the deadline is killed with
 * its children and the attempt reported failed.</li>
 * <li>The fencer does not add {@code nodename} (fenced did): some agents (fence_scsi) turn it into
 * the plug, overriding the configured one. A device names its plug or port in its options.</li>
 * </ul>
 */
package io.havn.daemon.fence;

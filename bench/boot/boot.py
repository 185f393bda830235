#!/usr/bin/env python3
"""Boot-to-READY of a systemd image, side by side in one run: spawnlet (CRI, through crictl),
raw crun (the same OCI spec spawnlet generated, minus the pod's namespaces), systemd-nspawn -b,
and podman --systemd=always when it is installed. Each boot starts from a fresh overlay upper
directory over the same unpacked rootfs, so every contender boots the same "first boot".

READY is the moment systemd (PID 1 in the container) sends READY=1 to a NOTIFY_SOCKET:
  spawnlet  create + start through crictl; StartContainer returns at READY=1 (client wall time),
            and the daemon's own CreateContainer + StartContainer times from its log
  crun      `crun run -d` with the notify socket bound in at /run/host/notify (as spawnlet does)
  nspawn    `systemd-nspawn -b --notify-ready=yes`, READY relayed to our socket
  podman    `podman run -d --systemd=always --sdnotify=container`, READY relayed to our socket

Run as root: bench/boot/run.sh (it builds spawnlet and the image if needed) or
  python3 bench/boot/boot.py --layout DIR --runs 10 [--out results.md]
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CRICTL = os.environ.get("SPAWNLET_CRICTL", "/var/cache/spawnlet/go-tools/cri-tools-v1.34.0/crictl")
IMAGE = "docker.io/spawnlet/debian-systemd:bookworm"
SIGRTMIN_3 = signal.SIGRTMIN + 3


def sh(*cmd, check=True, env=None, timeout=120):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


class NotifySocket:
    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.exists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o777)

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no READY=1 within %ss" % timeout)
            self.sock.settimeout(left)
            data = self.sock.recv(4096).decode(errors="replace")
            if "READY=1" in data.split("\n"):
                return time.monotonic()

    def close(self):
        self.sock.close()
        os.unlink(self.path)


class Overlay:
    """A fresh writable root over the shared unpacked image for one boot."""

    def __init__(self, work, lower):
        self.dir = tempfile.mkdtemp(dir=work, prefix="ovl-")
        for d in ("upper", "work", "merged"):
            os.mkdir(os.path.join(self.dir, d))
        self.merged = os.path.join(self.dir, "merged")
        sh("mount", "-t", "overlay", "overlay", "-o",
           f"lowerdir={lower},upperdir={self.dir}/upper,workdir={self.dir}/work", self.merged)

    def remove(self):
        sh("umount", self.merged, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def pss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def pidns_members(init_pid):
    ns = os.readlink(f"/proc/{init_pid}/ns/pid")
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if os.readlink(f"/proc/{p}/ns/pid") == ns:
                    out.append(int(p))
            except OSError:
                pass
    return out


def wait_gone(pid, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not os.path.exists(f"/proc/{pid}"):
            return True
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(")")[-1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(0.01)
    return False


# ----------------------------------------------------------------------------- spawnlet


class Spawnlet:
    """System pods in their own user namespace (the default since user namespaces landed)."""
    name = "spawnlet (crictl create+start)"
    host_ids = False

    def __init__(self, work, layout):
        self.work = work
        self.base = tempfile.mkdtemp(dir=work, prefix="spawnlet-")
        os.chmod(self.base, 0o711)  # a user-namespaced root must reach its rootfs (o+x)
        self.sock = os.path.join(self.base, "cri.sock")
        octet = 100 + (uuid.uuid4().int % 100)
        self.bridge = "spwb%04x" % (uuid.uuid4().int % 65536)
        cni = os.path.join(self.base, "cni")
        os.makedirs(cni)
        sh(f"{ROOT}/spawnlet", "image", "import", layout + ":latest", "--name", IMAGE,
           "--root", f"{self.base}/root", timeout=600)
        self.log = open(os.path.join(self.base, "daemon.log"), "w")
        self.daemon = subprocess.Popen(
            [f"{ROOT}/spawnlet", "cri", "--socket", self.sock, "--root", f"{self.base}/root",
             "--run-root", f"{self.base}/run", "--cni-conf-dir", cni, "--cni-bridge", self.bridge,
             "--cni-subnet", f"10.{octet}.{uuid.uuid4().int % 250}.0/24", "--log-level", "debug"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while not os.path.exists(self.sock):
            if time.monotonic() > deadline or self.daemon.poll() is not None:
                raise RuntimeError("spawnlet daemon did not start: see " + self.log.name)
            time.sleep(0.1)
        self.n = 0
        self.spec = None
        self.server_ms = []

    def crictl(self, *args):
        return sh(CRICTL, "--timeout", "120s", "-r", "unix://" + self.sock, "-i",
                  "unix://" + self.sock, *args).strip()

    def configs(self):
        self.n += 1
        name = f"boot-{self.n}-{uuid.uuid4().hex[:6]}"
        pod = {"metadata": {"name": name, "namespace": "bench", "uid": uuid.uuid4().hex, "attempt": 0},
               "hostname": name, "log_directory": f"{self.base}/logs/{name}",
               "annotations": {"spawnlet.io/system": "true"}}
        if self.host_ids:
            pod["linux"] = {"security_context": {"namespace_options": {"userns_options": {"mode": 2}}}}
        ctr = {"metadata": {"name": "os", "attempt": 0}, "image": {"image": IMAGE},
               "log_path": "os/0.log"}
        pp, cp = f"{self.base}/{name}-pod.json", f"{self.base}/{name}-ctr.json"
        json.dump(pod, open(pp, "w"))
        json.dump(ctr, open(cp, "w"))
        return pp, cp

    def boot(self):
        pp, cp = self.configs()
        pod = self.crictl("runp", pp)
        t0 = time.monotonic()
        cid = self.crictl("create", pod, cp, pp)
        self.crictl("start", cid)
        t1 = time.monotonic()
        info = json.loads(self.crictl("inspect", cid))
        if self.spec is None:
            self.spec = info["info"]["runtimeSpec"]
        pid = info["info"]["pid"]
        return t1 - t0, (pod, cid, pid)

    def members(self, handle):
        pod, cid, pid = handle
        pids = pidns_members(pid)
        conmon = sh("pgrep", "-f", f"conmon.*-c {cid}", check=False).split()
        return pids, [int(p) for p in conmon]

    def stop(self, handle):
        pod, cid, pid = handle
        t0 = time.monotonic()
        self.crictl("stop", "--timeout", "30", cid)
        t1 = time.monotonic()
        code = json.loads(self.crictl("inspect", cid))["status"]["exitCode"]
        self.crictl("rmp", "-f", pod)
        return t1 - t0, code

    def server_times(self):
        text = open(self.log.name).read()
        create = [int(m) for m in re.findall(r"CreateContainer ok in (\d+) ms", text)]
        start = [int(m) for m in re.findall(r"StartContainer ok in (\d+) ms", text)]
        return [c + s for c, s in zip(create, start)]

    def close(self):
        # a boot that failed half-way leaves its pod: take every pod down before the daemon
        try:
            self.crictl("rmp", "-fa")
        except Exception as e:  # noqa: BLE001 - best effort, the daemon may be gone
            print(f"boot.py: removing pods of {self.base}: {e}", file=sys.stderr)
        self.daemon.send_signal(signal.SIGTERM)
        try:
            self.daemon.wait(60)
        except subprocess.TimeoutExpired:
            self.daemon.kill()
        sh("ip", "link", "del", self.bridge, check=False)


class SpawnletHostIds(Spawnlet):
    """The pod asks for the host's ids (userns mode NODE): no user namespace, as raw crun."""
    name = "spawnlet, no user namespace (userns mode NODE)"
    host_ids = True


# ----------------------------------------------------------------------------- crun


class RawCrun:
    name = "crun run (same spec, no CRI)"

    def __init__(self, work, rootfs, spec):
        self.work, self.rootfs = work, rootfs
        self.state = os.path.join(work, "crun-state")
        self.wrapper = os.path.join(work, "crun-wrapper")
        # This host mixes cgroup v1 and cgroup2 mounts: crun 1.8 accepts it only with the cgroup2
        # mount hidden in a private mount namespace (as spawnlet's own wrapper does).
        hybrid = os.path.ismount("/sys/fs/cgroup/unified")
        with open(self.wrapper, "w") as f:
            if hybrid:
                f.write('#!/bin/sh\nexec unshare -m sh -c \'umount /sys/fs/cgroup/unified && exec /usr/bin/crun "$@"\' crun "$@"\n')
            else:
                f.write('#!/bin/sh\nexec /usr/bin/crun "$@"\n')
        os.chmod(self.wrapper, 0o755)
        self.template = json.loads(json.dumps(spec))
        ns = [n for n in self.template["linux"]["namespaces"]
              if n["type"] in ("pid", "mount", "cgroup", "network", "ipc", "uts")]
        for n in ns:
            n.pop("path", None)
        self.template["linux"]["namespaces"] = ns
        # spawnlet's user namespace needs an idmapped rootfs, which crun 1.8 cannot make: raw crun
        # boots the same spec without it (compare with the spawnlet row without one too)
        self.template["linux"].pop("uidMappings", None)
        self.template["linux"].pop("gidMappings", None)
        self.template["process"]["terminal"] = False
        self.template["hostname"] = "crun-bench"
        self.template["mounts"] = [m for m in self.template["mounts"]
                                   if m["destination"] not in ("/etc/hosts", "/etc/resolv.conf", "/etc/hostname")
                                   and not (m["destination"] == "/dev/shm" and m["type"] == "bind")]
        self.template["mounts"].append({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
                                        "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]})
        self.n = 0

    def boot(self):
        self.n += 1
        cid = f"bench-{os.getpid()}-{self.n}"
        ovl = Overlay(self.work, self.rootfs)
        bundle = tempfile.mkdtemp(dir=self.work, prefix="bundle-")
        notify = NotifySocket(os.path.join(bundle, "notify", "notify"))
        spec = json.loads(json.dumps(self.template))
        spec["root"]["path"] = ovl.merged
        spec["linux"]["cgroupsPath"] = f"/spawnlet-bench/{cid}"
        for m in spec["mounts"]:
            if m["destination"] == "/run/host/notify":
                m["source"] = os.path.dirname(notify.path)
        json.dump(spec, open(os.path.join(bundle, "config.json"), "w"))
        with open(os.path.join(ovl.merged, "etc/machine-id"), "w") as f:
            f.write(uuid.uuid4().hex + "\n")
        log = open(os.path.join(bundle, "console.log"), "w")
        t0 = time.monotonic()
        subprocess.run([self.wrapper, "--root", self.state, "--cgroup-manager=cgroupfs", "run", "-d",
                        "--bundle", bundle, cid], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                       check=True)
        t1 = notify.wait_ready()
        state = json.loads(sh(self.wrapper, "--root", self.state, "state", cid))
        return t1 - t0, (cid, state["pid"], ovl, bundle, notify)

    def members(self, handle):
        return pidns_members(handle[1]), []

    def stop(self, handle):
        cid, pid, ovl, bundle, notify = handle
        t0 = time.monotonic()
        os.kill(pid, SIGRTMIN_3)
        wait_gone(pid)
        t1 = time.monotonic()
        sh(self.wrapper, "--root", self.state, "delete", "-f", cid, check=False)
        notify.close()
        ovl.remove()
        shutil.rmtree(bundle, ignore_errors=True)
        for d in sh("find", "/sys/fs/cgroup", "-maxdepth", "2", "-name", "spawnlet-bench", check=False).split():
            subprocess.run(["find", d, "-depth", "-type", "d", "-exec", "rmdir", "{}", ";"],
                           capture_output=True)
        return t1 - t0, None

    def close(self):
        pass


# ----------------------------------------------------------------------------- nspawn


class Nspawn:
    name = "systemd-nspawn -b"

    def __init__(self, work, rootfs):
        self.work, self.rootfs = work, rootfs

    def boot(self):
        ovl = Overlay(self.work, self.rootfs)
        notify = NotifySocket(os.path.join(ovl.dir, "n", "notify"))
        env = dict(os.environ, NOTIFY_SOCKET=notify.path)
        log = open(os.path.join(ovl.dir, "console.log"), "w")
        t0 = time.monotonic()
        proc = subprocess.Popen(
            ["systemd-nspawn", "-q", "-D", ovl.merged, "-b", "--notify-ready=yes", "--register=no",
             "--keep-unit", "--private-network", "--console=passive",
             f"--machine=nb{uuid.uuid4().hex[:8]}"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
        t1 = notify.wait_ready()
        return t1 - t0, (proc, ovl, notify)

    def members(self, handle):
        proc = handle[0]
        children = sh("pgrep", "-P", str(proc.pid), check=False).split()
        init = int(children[0]) if children else proc.pid
        return pidns_members(init), [proc.pid]

    def stop(self, handle):
        proc, ovl, notify = handle
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)  # nspawn turns it into a clean poweroff of the machine
        code = proc.wait(60)
        t1 = time.monotonic()
        notify.close()
        ovl.remove()
        return t1 - t0, code

    def close(self):
        pass


# ----------------------------------------------------------------------------- podman


class Podman:
    name = "podman run --systemd=always"

    def __init__(self, work, rootfs):
        self.work, self.rootfs = work, rootfs
        self.image = "localhost/spawnlet-bench-systemd:latest"
        tar = os.path.join(work, "rootfs.tar")
        sh("tar", "-C", rootfs, "-cf", tar, ".", timeout=600)
        sh("podman", "import", "--change", 'CMD ["/sbin/init"]', tar, self.image, timeout=600)

    def boot(self):
        notify = NotifySocket(os.path.join(self.work, "podman-notify", uuid.uuid4().hex[:8]))
        env = dict(os.environ, NOTIFY_SOCKET=notify.path)
        t0 = time.monotonic()
        # Without CAP_SYS_RESOURCE (this host) podman's default rlimits fail in setrlimit; ask
        # for the host's own limits.
        cid = sh("podman", "run", "-d", "--systemd=always", "--sdnotify=container",
                 "--ulimit", "host", "--network=none", self.image, env=env).strip()
        t1 = notify.wait_ready()
        return t1 - t0, (cid, notify)

    def members(self, handle):
        pid = int(sh("podman", "inspect", "-f", "{{.State.Pid}}", handle[0]).strip())
        conmon = int(sh("podman", "inspect", "-f", "{{.State.ConmonPid}}", handle[0]).strip())
        return pidns_members(pid), [conmon]

    def stop(self, handle):
        cid, notify = handle
        t0 = time.monotonic()
        sh("podman", "stop", "-t", "30", cid)
        t1 = time.monotonic()
        code = int(sh("podman", "inspect", "-f", "{{.State.ExitCode}}", cid).strip())
        sh("podman", "rm", "-f", cid, check=False)
        notify.close()
        return t1 - t0, code

    def close(self):
        sh("podman", "rmi", "-f", self.image, check=False)


# ----------------------------------------------------------------------------- main


def stats(values):
    ms = [v * 1000 for v in values]
    return f"{min(ms):.0f} / {statistics.median(ms):.0f} / {max(ms):.0f}"


def measure(contender, runs, results):
    boots, stops, codes = [], [], []
    # One warm-up boot (page cache, first-run costs) that is not counted.
    for i in range(runs + 1):
        took, handle = contender.boot()
        if i == runs:  # the last one stays up, idle, for the memory figure
            time.sleep(5)
            inside, monitors = contender.members(handle)
            results[contender.name + " memory"] = (len(inside), pss_kib(inside), pss_kib(monitors))
        stop, code = contender.stop(handle)
        if i > 0:
            boots.append(took)
            stops.append(stop)
            codes.append(code)
    results[contender.name] = (boots, stops, codes)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layout", required=True, help="OCI layout of the debian-systemd image")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--out", help="write the markdown table here too")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("boot.py: run as root")

    work = tempfile.mkdtemp(prefix="spawnlet-bench-boot-")
    os.chmod(work, 0o711)  # as /var/lib/spawnlet: user-namespaced pods' roots traverse it
    rootfs = os.path.join(work, "rootfs")
    sh("umoci", "raw", "unpack", "--image", args.layout + ":latest", rootfs, timeout=600)
    results, skipped = {}, []
    server_host_ids = []
    spawnlet = Spawnlet(work, args.layout)
    try:
        measure(spawnlet, args.runs, results)
        server = spawnlet.server_times()[1:]  # without the warm-up
        host_ids = SpawnletHostIds(work, args.layout)
        try:
            measure(host_ids, args.runs, results)
            server_host_ids = host_ids.server_times()[1:]
        finally:
            host_ids.close()
        contenders = [RawCrun(work, rootfs, spawnlet.spec)]
        if shutil.which("systemd-nspawn"):
            contenders.append(Nspawn(work, rootfs))
        else:
            skipped.append("systemd-nspawn: not installed (apt-get install systemd-container)")
        if shutil.which("podman"):
            try:
                contenders.append(Podman(work, rootfs))
            except Exception as e:  # noqa: BLE001 - reported, not fatal
                skipped.append(f"podman: {e}")
        else:
            skipped.append("podman: not installed here")
        for c in contenders:
            try:
                measure(c, args.runs, results)
            except Exception as e:  # noqa: BLE001
                skipped.append(f"{c.name}: {e}")
            finally:
                c.close()
    finally:
        spawnlet.close()
        sh("umount", "-R", rootfs, check=False)
        shutil.rmtree(work, ignore_errors=True)

    lines = [f"| what ({args.runs} boots each, ms: min / median / max) | start → READY=1 | poweroff → exit | exit codes |",
             "|---|---|---|---|"]
    for name, value in results.items():
        if name.endswith(" memory"):
            continue
        boots, stops, codes = value
        lines.append(f"| {name} | {stats(boots)} | {stats(stops)} | {sorted(set(map(str, codes)))} |")
    if server:
        lines.append(f"| spawnlet, daemon-side CreateContainer + StartContainer | {stats([s / 1000 for s in server])} | | |")
    if server_host_ids:
        lines.append(f"| spawnlet without user namespace, daemon-side | {stats([s / 1000 for s in server_host_ids])} | | |")
    lines += ["", "| idle booted machine | processes inside | PSS inside (MiB) | PSS of its monitor (MiB) |",
              "|---|---|---|---|"]
    for name, value in results.items():
        if name.endswith(" memory"):
            n, inside, mon = value
            lines.append(f"| {name[:-7]} | {n} | {inside / 1024:.1f} | {mon / 1024:.1f} |")
    for s in skipped:
        lines.append(f"\nSkipped: {s}")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()

package io.spawnlet.cri.oci;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spawnlet.cri.CriException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * Seccomp profiles in OCI form ({@code linux.seccomp}). The runtime default follows the shape of
 * Docker's and containerd's: everything not allowed fails with EPERM; the allow-list is the
 * syscalls ordinary programs use; namespace- and mount-related calls are allowed only when the
 * container holds CAP_SYS_ADMIN; clone is allowed without namespace flags; clone3 reports ENOSYS
 * (its flags are in memory, seccomp cannot inspect them) so libc falls back to clone.
 */
public final class SeccompProfiles {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int EPERM = 1;
  private static final int ENOSYS = 38;

  /** CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET. */
  private static final long CLONE_NAMESPACE_FLAGS = 0x7E020000L;

  static final List<String> ALLOWED =
      List.of(
          "accept",
          "accept4",
          "access",
          "adjtimex",
          "alarm",
          "arch_prctl",
          "bind",
          "brk",
          "capget",
          "capset",
          "chdir",
          "chmod",
          "chown",
          "chown32",
          "clock_adjtime",
          "clock_getres",
          "clock_gettime",
          "clock_nanosleep",
          "close",
          "close_range",
          "connect",
          "copy_file_range",
          "creat",
          "dup",
          "dup2",
          "dup3",
          "epoll_create",
          "epoll_create1",
          "epoll_ctl",
          "epoll_pwait",
          "epoll_pwait2",
          "epoll_wait",
          "eventfd",
          "eventfd2",
          "execve",
          "execveat",
          "exit",
          "exit_group",
          "faccessat",
          "faccessat2",
          "fadvise64",
          "fallocate",
          "fanotify_mark",
          "fchdir",
          "fchmod",
          "fchmodat",
          "fchown",
          "fchownat",
          "fcntl",
          "fdatasync",
          "fgetxattr",
          "flistxattr",
          "flock",
          "fork",
          "fremovexattr",
          "fsetxattr",
          "fstat",
          "fstatfs",
          "fsync",
          "ftruncate",
          "futex",
          "futex_waitv",
          "futimesat",
          "getcpu",
          "getcwd",
          "getdents",
          "getdents64",
          "getegid",
          "geteuid",
          "getgid",
          "getgroups",
          "getitimer",
          "getpeername",
          "getpgid",
          "getpgrp",
          "getpid",
          "getppid",
          "getpriority",
          "getrandom",
          "getresgid",
          "getresuid",
          "getrlimit",
          "get_robust_list",
          "getrusage",
          "getsid",
          "getsockname",
          "getsockopt",
          "get_thread_area",
          "gettid",
          "gettimeofday",
          "getuid",
          "getxattr",
          "inotify_add_watch",
          "inotify_init",
          "inotify_init1",
          "inotify_rm_watch",
          "io_cancel",
          "ioctl",
          "io_destroy",
          "io_getevents",
          "io_pgetevents",
          "ioprio_get",
          "ioprio_set",
          "io_setup",
          "io_submit",
          "io_uring_enter",
          "io_uring_register",
          "io_uring_setup",
          "ipc",
          "kill",
          "landlock_add_rule",
          "landlock_create_ruleset",
          "landlock_restrict_self",
          "lchown",
          "lgetxattr",
          "link",
          "linkat",
          "listen",
          "listxattr",
          "llistxattr",
          "lremovexattr",
          "lseek",
          "lsetxattr",
          "lstat",
          "madvise",
          "membarrier",
          "memfd_create",
          "memfd_secret",
          "mincore",
          "mkdir",
          "mkdirat",
          "mknod",
          "mknodat",
          "mlock",
          "mlock2",
          "mlockall",
          "mmap",
          "mprotect",
          "mq_getsetattr",
          "mq_notify",
          "mq_open",
          "mq_timedreceive",
          "mq_timedsend",
          "mq_unlink",
          "mremap",
          "msgctl",
          "msgget",
          "msgrcv",
          "msgsnd",
          "msync",
          "munlock",
          "munlockall",
          "munmap",
          "name_to_handle_at",
          "nanosleep",
          "newfstatat",
          "open",
          "openat",
          "openat2",
          "pause",
          "pidfd_open",
          "pidfd_send_signal",
          "pipe",
          "pipe2",
          "pkey_alloc",
          "pkey_free",
          "pkey_mprotect",
          "poll",
          "ppoll",
          "prctl",
          "pread64",
          "preadv",
          "preadv2",
          "prlimit64",
          "process_mrelease",
          "pselect6",
          "pwrite64",
          "pwritev",
          "pwritev2",
          "read",
          "readahead",
          "readlink",
          "readlinkat",
          "readv",
          "reboot",
          "recv",
          "recvfrom",
          "recvmmsg",
          "recvmsg",
          "remap_file_pages",
          "removexattr",
          "rename",
          "renameat",
          "renameat2",
          "restart_syscall",
          "rmdir",
          "rseq",
          "rt_sigaction",
          "rt_sigpending",
          "rt_sigprocmask",
          "rt_sigqueueinfo",
          "rt_sigreturn",
          "rt_sigsuspend",
          "rt_sigtimedwait",
          "rt_tgsigqueueinfo",
          "sched_getaffinity",
          "sched_getattr",
          "sched_getparam",
          "sched_get_priority_max",
          "sched_get_priority_min",
          "sched_getscheduler",
          "sched_rr_get_interval",
          "sched_setaffinity",
          "sched_setattr",
          "sched_setparam",
          "sched_setscheduler",
          "sched_yield",
          "seccomp",
          "select",
          "semctl",
          "semget",
          "semop",
          "semtimedop",
          "send",
          "sendfile",
          "sendmmsg",
          "sendmsg",
          "sendto",
          "setfsgid",
          "setfsuid",
          "setgid",
          "setgroups",
          "setitimer",
          "setpgid",
          "setpriority",
          "setregid",
          "setresgid",
          "setresuid",
          "setreuid",
          "setrlimit",
          "set_robust_list",
          "setsid",
          "setsockopt",
          "set_thread_area",
          "set_tid_address",
          "setuid",
          "setxattr",
          "shmat",
          "shmctl",
          "shmdt",
          "shmget",
          "shutdown",
          "sigaltstack",
          "signalfd",
          "signalfd4",
          "socket",
          "socketcall",
          "socketpair",
          "splice",
          "stat",
          "statfs",
          "statx",
          "symlink",
          "symlinkat",
          "sync",
          "sync_file_range",
          "syncfs",
          "sysinfo",
          "tee",
          "tgkill",
          "time",
          "timer_create",
          "timer_delete",
          "timer_getoverrun",
          "timer_gettime",
          "timer_settime",
          "timerfd_create",
          "timerfd_gettime",
          "timerfd_settime",
          "times",
          "tkill",
          "truncate",
          "umask",
          "uname",
          "unlink",
          "unlinkat",
          "utime",
          "utimensat",
          "utimes",
          "vfork",
          "vmsplice",
          "wait4",
          "waitid",
          "waitpid",
          "write",
          "writev");

  /** Allowed only to a container that holds CAP_SYS_ADMIN (as in Docker's profile). */
  static final List<String> SYS_ADMIN_ONLY =
      List.of(
          "bpf",
          "fanotify_init",
          "fsconfig",
          "fsmount",
          "fsopen",
          "fspick",
          "lookup_dcookie",
          "mount",
          "mount_setattr",
          "move_mount",
          "open_tree",
          "perf_event_open",
          "quotactl",
          "quotactl_fd",
          "setdomainname",
          "sethostname",
          "setns",
          "syslog",
          "umount",
          "umount2",
          "unshare");

  private SeccompProfiles() {}

  /** The runtime default profile for a container with {@code capabilities} (CAP_* names). */
  public static ObjectNode runtimeDefault(Set<String> capabilities) {
    ObjectNode profile = JSON.createObjectNode();
    profile.put("defaultAction", "SCMP_ACT_ERRNO");
    profile.put("defaultErrnoRet", EPERM);
    profile
        .putArray("architectures")
        .add("SCMP_ARCH_X86_64")
        .add("SCMP_ARCH_X86")
        .add("SCMP_ARCH_X32");
    ArrayNode syscalls = profile.putArray("syscalls");
    ObjectNode allow = syscalls.addObject();
    ArrayNode names = allow.putArray("names");
    ALLOWED.forEach(names::add);
    allow.put("action", "SCMP_ACT_ALLOW");

    boolean sysAdmin = capabilities.contains("CAP_SYS_ADMIN");
    if (sysAdmin) {
      ObjectNode admin = syscalls.addObject();
      ArrayNode adminNames = admin.putArray("names");
      SYS_ADMIN_ONLY.forEach(adminNames::add);
      adminNames.add("clone").add("clone3");
      admin.put("action", "SCMP_ACT_ALLOW");
    } else {
      ObjectNode clone = syscalls.addObject();
      clone.putArray("names").add("clone");
      clone.put("action", "SCMP_ACT_ALLOW");
      ObjectNode arg = clone.putArray("args").addObject();
      arg.put("index", 0);
      arg.put("value", CLONE_NAMESPACE_FLAGS);
      arg.put("valueTwo", 0);
      arg.put("op", "SCMP_CMP_MASKED_EQ");
      ObjectNode clone3 = syscalls.addObject();
      clone3.putArray("names").add("clone3");
      clone3.put("action", "SCMP_ACT_ERRNO");
      clone3.put("errnoRet", ENOSYS);
    }
    for (var entry :
        List.of(
            List.of("CAP_SYS_PTRACE", "ptrace", "process_vm_readv", "process_vm_writev", "kcmp"),
            List.of("CAP_SYS_MODULE", "init_module", "finit_module", "delete_module"),
            List.of("CAP_SYS_TIME", "settimeofday", "stime", "clock_settime"),
            List.of("CAP_SYS_NICE", "get_mempolicy", "mbind", "set_mempolicy"),
            List.of("CAP_SYS_PACCT", "acct"),
            List.of("CAP_SYS_RAWIO", "iopl", "ioperm"),
            List.of("CAP_SYS_BOOT", "kexec_load", "kexec_file_load"),
            List.of("CAP_DAC_READ_SEARCH", "open_by_handle_at"),
            List.of("CAP_SYS_TTY_CONFIG", "vhangup"),
            List.of("CAP_SYSLOG", "syslog"))) {
      if (capabilities.contains(entry.getFirst())) {
        ObjectNode rule = syscalls.addObject();
        ArrayNode ruleNames = rule.putArray("names");
        entry.subList(1, entry.size()).forEach(ruleNames::add);
        rule.put("action", "SCMP_ACT_ALLOW");
      }
    }
    return profile;
  }

  /**
   * A profile from a file on the host (CRI Localhost). Docker-format files ({@code archMap}) are
   * flattened to OCI's {@code architectures}.
   */
  public static ObjectNode localhost(Path file) {
    try {
      JsonNode node = JSON.readTree(Files.readString(file));
      if (!(node instanceof ObjectNode profile)) {
        throw CriException.invalid(
            "seccomp.localhost_ref", "profile " + file + " is not a JSON object");
      }
      if (profile.has("archMap")) {
        ArrayNode architectures = JSON.createArrayNode();
        for (JsonNode arch : profile.get("archMap")) {
          architectures.add(arch.path("architecture").asText());
          arch.path("subArchitectures").forEach(architectures::add);
        }
        profile.remove("archMap");
        profile.set("architectures", architectures);
      }
      return profile;
    } catch (IOException e) {
      throw CriException.invalid(
          "seccomp.localhost_ref", "cannot read seccomp profile " + file + ": " + e.getMessage());
    }
  }
}

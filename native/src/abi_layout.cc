#include "abi_layout.h"

#include <cstddef>

#include "agentrail_abi.h"

namespace agentrail {

#define AR_S(T) StructLayout{#T, sizeof(struct T), {
#define AR_F(T, f) {#f, offsetof(struct T, f)},
#define AR_END }},

std::vector<StructLayout> abi_layout() {
  return {
      AR_S(ar_hdr) AR_F(ar_hdr, op) AR_F(ar_hdr, version) AR_F(ar_hdr, size) AR_F(ar_hdr, ktime_ns) AR_F(ar_hdr, pid)
          AR_F(ar_hdr, tid) AR_F(ar_hdr, cgroup_id) AR_END

      AR_S(ar_proc_exec) AR_F(ar_proc_exec, hdr) AR_F(ar_proc_exec, ppid) AR_F(ar_proc_exec, uid) AR_F(ar_proc_exec, gid)
          AR_F(ar_proc_exec, argc) AR_F(ar_proc_exec, filename_len) AR_F(ar_proc_exec, args_len) AR_F(ar_proc_exec, flags)
              AR_F(ar_proc_exec, comm) AR_F(ar_proc_exec, filename) AR_F(ar_proc_exec, args) AR_END

      AR_S(ar_proc_fork) AR_F(ar_proc_fork, hdr) AR_F(ar_proc_fork, child_pid) AR_F(ar_proc_fork, child_tid)
          AR_F(ar_proc_fork, is_thread) AR_F(ar_proc_fork, _pad) AR_END

      AR_S(ar_proc_exit) AR_F(ar_proc_exit, hdr) AR_F(ar_proc_exit, ppid) AR_F(ar_proc_exit, exit_code)
          AR_F(ar_proc_exit, is_thread) AR_F(ar_proc_exit, _pad) AR_END

      AR_S(ar_proc_mmap_exec) AR_F(ar_proc_mmap_exec, hdr) AR_F(ar_proc_mmap_exec, dev) AR_F(ar_proc_mmap_exec, ino)
          AR_F(ar_proc_mmap_exec, fd) AR_F(ar_proc_mmap_exec, prot) AR_END

      AR_S(ar_file_open) AR_F(ar_file_open, hdr) AR_F(ar_file_open, dirfd) AR_F(ar_file_open, ret) AR_F(ar_file_open, flags)
          AR_F(ar_file_open, mode) AR_F(ar_file_open, path_len) AR_F(ar_file_open, syscall) AR_F(ar_file_open, _pad)
              AR_F(ar_file_open, path) AR_END

      AR_S(ar_fd_io) AR_F(ar_fd_io, hdr) AR_F(ar_fd_io, fd) AR_F(ar_fd_io, fd_kind) AR_F(ar_fd_io, read_bytes)
          AR_F(ar_fd_io, write_bytes) AR_F(ar_fd_io, read_calls) AR_F(ar_fd_io, write_calls) AR_F(ar_fd_io, reason)
              AR_F(ar_fd_io, _pad) AR_F(ar_fd_io, first_ns) AR_F(ar_fd_io, last_ns) AR_F(ar_fd_io, ino) AR_END

      AR_S(ar_file_op) AR_F(ar_file_op, hdr) AR_F(ar_file_op, kind) AR_F(ar_file_op, ret) AR_F(ar_file_op, fd)
          AR_F(ar_file_op, mode) AR_F(ar_file_op, length) AR_F(ar_file_op, path_len) AR_F(ar_file_op, path2_len)
              AR_F(ar_file_op, _pad) AR_F(ar_file_op, path) AR_F(ar_file_op, path2) AR_END

      AR_S(ar_net_conn) AR_F(ar_net_conn, hdr) AR_F(ar_net_conn, fd) AR_F(ar_net_conn, ret) AR_F(ar_net_conn, family)
          AR_F(ar_net_conn, port) AR_F(ar_net_conn, sock_type) AR_F(ar_net_conn, _pad) AR_F(ar_net_conn, addr) AR_END

      AR_S(ar_net_peek) AR_F(ar_net_peek, hdr) AR_F(ar_net_peek, fd) AR_F(ar_net_peek, kind) AR_F(ar_net_peek, call_len)
          AR_F(ar_net_peek, data_len) AR_END

      AR_S(ar_tls_data) AR_F(ar_tls_data, hdr) AR_F(ar_tls_data, ssl_ptr) AR_F(ar_tls_data, direction)
          AR_F(ar_tls_data, call_len) AR_F(ar_tls_data, chunk_offset) AR_F(ar_tls_data, chunk_len) AR_F(ar_tls_data, fd)
              AR_F(ar_tls_data, flags) AR_F(ar_tls_data, call_seq) AR_END

      AR_S(ar_tls_pair) AR_F(ar_tls_pair, hdr) AR_F(ar_tls_pair, ssl_ptr) AR_F(ar_tls_pair, fd) AR_F(ar_tls_pair, how) AR_END

      AR_S(ar_pipe_data) AR_F(ar_pipe_data, hdr) AR_F(ar_pipe_data, pipe_ino) AR_F(ar_pipe_data, fd)
          AR_F(ar_pipe_data, direction) AR_F(ar_pipe_data, call_len) AR_F(ar_pipe_data, chunk_offset)
              AR_F(ar_pipe_data, chunk_len) AR_F(ar_pipe_data, flags) AR_END

      AR_S(ar_config) AR_F(ar_config, trace_all) AR_F(ar_config, tls_cap) AR_F(ar_config, pipe_cap)
          AR_F(ar_config, self_pid) AR_F(ar_config, flush_interval_ns) AR_END

      AR_S(ar_enforce) AR_F(ar_enforce, hdr) AR_F(ar_enforce, what) AR_F(ar_enforce, rule) AR_F(ar_enforce, signal_ret)
          AR_F(ar_enforce, family) AR_F(ar_enforce, port) AR_F(ar_enforce, addr) AR_F(ar_enforce, path_len)
              AR_F(ar_enforce, syscall) AR_F(ar_enforce, matched) AR_F(ar_enforce, ino) AR_F(ar_enforce, path) AR_END

      AR_S(ar_enf_inode_key) AR_F(ar_enf_inode_key, dev) AR_F(ar_enf_inode_key, ino) AR_F(ar_enf_inode_key, what)
          AR_F(ar_enf_inode_key, _pad) AR_END

      AR_S(ar_enf_path_key) AR_F(ar_enf_path_key, prefixlen) AR_F(ar_enf_path_key, path) AR_END

      AR_S(ar_enf_addr_key) AR_F(ar_enf_addr_key, prefixlen) AR_F(ar_enf_addr_key, family) AR_F(ar_enf_addr_key, port)
          AR_F(ar_enf_addr_key, addr) AR_F(ar_enf_addr_key, _pad) AR_END

      AR_S(ar_enf_config) AR_F(ar_enf_config, connect_on) AR_F(ar_enf_config, connect_rule) AR_F(ar_enf_config, exec_on)
          AR_F(ar_enf_config, open_on) AR_END
  };
}

}  // namespace agentrail

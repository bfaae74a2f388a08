// SPDX-License-Identifier: Apache-2.0
// One capstone x86-64 handle with instruction details on, closed on scope
// exit: the disassembler of the TLS locators (boringssl_locator.cc, go_locator.cc).
#pragma once

#include <capstone/capstone.h>

namespace agentrail {

class Disasm {
 public:
  Disasm() {
    ok_ = cs_open(CS_ARCH_X86, CS_MODE_64, &h_) == CS_ERR_OK;
    if (ok_) cs_option(h_, CS_OPT_DETAIL, CS_OPT_ON);
  }
  ~Disasm() {
    if (ok_) cs_close(&h_);
  }
  Disasm(const Disasm&) = delete;
  Disasm& operator=(const Disasm&) = delete;
  bool ok() const { return ok_; }
  csh h() const { return h_; }

 private:
  csh h_ = 0;
  bool ok_ = false;
};

}  // namespace agentrail

// SPDX-License-Identifier: Apache-2.0
#include "err_sites.h"

#include <elf.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

namespace agentrail {
namespace {

constexpr uint64_t kMaxBackScan = 256 * 1024;  // longest function we walk back over

// Cheap prefilter over the executable bytes: positions that may hold a
// string's address as a 32-bit immediate (non-PIE `mov ecx, imm32`) or as a
// RIP-relative displacement (PIE `lea rcx, [rip+d]`). Every position is then
// decoded by capstone inside its function; nothing is trusted from here.
std::vector<uint64_t> candidateRefs(const Image& img, const std::set<uint64_t>& strs) {
  std::vector<uint64_t> out;
  for (const Segment& s : img.segs) {
    if (!s.exec || s.filesz < 8) continue;
    const uint8_t* t = img.base + s.off;
    for (uint64_t i = 0; i + 7 <= s.filesz; i++) {
      uint32_t imm;
      memcpy(&imm, t + i + 1, 4);
      if ((t[i] == 0xb9 || t[i] == 0xba) && strs.count(imm)) out.push_back(s.vaddr + i);  // mov ecx|edx, imm32
      if ((t[i] == 0x48 || t[i] == 0x4c) && t[i + 1] == 0x8d && (t[i + 2] & 0xc7) == 0x05) {
        int32_t disp;
        memcpy(&disp, t + i + 3, 4);
        if (strs.count(s.vaddr + i + 7 + int64_t(disp))) out.push_back(s.vaddr + i);
      }
    }
  }
  return out;
}

// Start of the function holding `va`: the first 16-byte-aligned address
// after the int3 padding the linker puts between functions.
bool functionStart(const Image& img, uint64_t va, uint64_t& start) {
  for (const Segment& s : img.segs) {
    if (!s.exec || va < s.vaddr || va >= s.vaddr + s.filesz) continue;
    const uint8_t* t = img.base + s.off;
    uint64_t i = va - s.vaddr;
    uint64_t floor = i > kMaxBackScan ? i - kMaxBackScan : 0;
    while (i > floor) {
      if (t[i - 1] == 0xcc && (i % 16) == 0 && (s.vaddr + i) % 16 == 0) {
        start = s.vaddr + i;
        return true;
      }
      i--;
    }
  }
  return false;
}

x86_reg widen(x86_reg r) {
  switch (r) {
    case X86_REG_EDI: return X86_REG_RDI;
    case X86_REG_ESI: return X86_REG_RSI;
    case X86_REG_EDX: return X86_REG_RDX;
    case X86_REG_ECX: return X86_REG_RCX;
    case X86_REG_R8D: return X86_REG_R8;
    default: return r;
  }
}

// Linear decode of one function from its start up to `limit`; records every
// ERR_put_error(lib, 0, reason, file, line) call. Returns false when the
// decode does not land exactly on every candidate (misaligned start).
bool decodeFunction(const Disasm& d, const Image& img, uint64_t fstart, uint64_t limit, const std::set<uint64_t>& strs,
                    uint32_t lib, const std::vector<uint64_t>& mustHit, std::vector<ErrSite>& sites) {
  uint64_t off;
  if (!img.vaToOff(fstart, off)) return false;
  const uint8_t* code = img.base + off;
  size_t size = size_t(std::min<uint64_t>(limit - fstart, img.size - off));
  uint64_t addr = fstart;
  cs_insn* insn = cs_malloc(d.h());
  std::map<x86_reg, uint64_t> imm;  // last constant loaded into an argument register
  std::set<uint64_t> seen;
  while (cs_disasm_iter(d.h(), &code, &size, &addr, insn)) {
    seen.insert(insn->address);
    const cs_x86& x = insn->detail->x86;
    // The compiler often shares one ERR_put_error call among several sites:
    // each site loads its constants and jumps to it.
    if (insn->id == X86_INS_CALL || insn->id == X86_INS_JMP) {
      auto has = [&](x86_reg r) { return imm.count(r) != 0; };
      // Two generations: ERR_put_error(lib, 0, reason, file, line) (Bun 1.4,
      // aws-lc) and ERR_put_error(lib, reason, file, line) (Claude Code 2.1).
      if (has(X86_REG_RDI) && imm[X86_REG_RDI] == lib) {
        if (has(X86_REG_RCX) && strs.count(imm[X86_REG_RCX]) && has(X86_REG_RDX) && has(X86_REG_R8))
          sites.push_back({fstart, uint32_t(imm[X86_REG_RDX]), uint32_t(imm[X86_REG_R8])});
        else if (has(X86_REG_RDX) && strs.count(imm[X86_REG_RDX]) && has(X86_REG_RSI) && has(X86_REG_RCX))
          sites.push_back({fstart, uint32_t(imm[X86_REG_RSI]), uint32_t(imm[X86_REG_RCX])});
      }
      imm.clear();
      continue;
    }
    if (x.op_count == 2 && x.operands[0].type == X86_OP_REG) {
      x86_reg r = widen(x.operands[0].reg);
      const cs_x86_op& src = x.operands[1];
      if (insn->id == X86_INS_MOV && src.type == X86_OP_IMM) {
        imm[r] = uint64_t(src.imm);
        continue;
      }
      if (insn->id == X86_INS_XOR && src.type == X86_OP_REG && src.reg == x.operands[0].reg) {
        imm[r] = 0;
        continue;
      }
      if (insn->id == X86_INS_LEA && src.type == X86_OP_MEM && src.mem.base == X86_REG_RIP) {
        imm[r] = insn->address + insn->size + uint64_t(src.mem.disp);
        continue;
      }
      imm.erase(r);  // any other write to the register spoils the constant
    }
  }
  cs_free(insn, 1);
  for (uint64_t a : mustHit)
    if (!seen.count(a)) return false;
  return true;
}

int argBit(uint16_t r) {
  switch (widen(x86_reg(r))) {
    case X86_REG_RDI: return 1;
    case X86_REG_RSI: return 2;
    case X86_REG_RDX: return 4;
    case X86_REG_RCX: return 8;
    default: return 0;
  }
}

// Along one path from `va` (following forward conditional branches too, up
// to `budget` more forks): is every register of `want` read before being
// overwritten or clobbered by a call? `got` carries what was read so far.
bool pathReadsArgs(const Disasm& d, const Image& img, uint64_t va, int want, int got, int budget) {
  uint64_t off;
  if (!img.vaToOff(va, off)) return false;
  const uint8_t* code = img.base + off;
  size_t size = std::min<size_t>(256, img.size - off);
  uint64_t addr = va;
  cs_insn* insn = cs_malloc(d.h());
  int dead = 0;  // args overwritten before being read
  bool ok = false;
  for (int n = 0; n < 48 && cs_disasm_iter(d.h(), &code, &size, &addr, insn); n++) {
    cs_regs rd, wr;
    uint8_t nrd = 0, nwr = 0;
    if (cs_regs_access(d.h(), insn, rd, &nrd, wr, &nwr) == CS_ERR_OK) {
      const cs_x86& x = insn->detail->x86;
      bool selfXor = insn->id == X86_INS_XOR && x.op_count == 2 && x.operands[0].type == X86_OP_REG &&
                     x.operands[1].type == X86_OP_REG && x.operands[0].reg == x.operands[1].reg;
      if (!selfXor)
        for (uint8_t i = 0; i < nrd; i++) got |= argBit(rd[i]) & ~dead;
      for (uint8_t i = 0; i < nwr; i++) dead |= argBit(wr[i]) & ~got;
    }
    if ((got & want) == want) {
      ok = true;
      break;
    }
    if (insn->id == X86_INS_CALL || insn->id == X86_INS_RET || insn->id == X86_INS_INT3 || insn->id == X86_INS_JMP)
      break;
    const cs_x86& x = insn->detail->x86;
    bool jcc = insn->id >= X86_INS_JAE && insn->id <= X86_INS_JS && insn->id != X86_INS_JMP;
    if (jcc && budget > 0 && x.op_count == 1 && x.operands[0].type == X86_OP_IMM &&
        uint64_t(x.operands[0].imm) > insn->address &&
        pathReadsArgs(d, img, uint64_t(x.operands[0].imm), want, got, budget - 1)) {
      ok = true;
      break;
    }
  }
  cs_free(insn, 1);
  return ok;
}

}  // namespace

bool Image::vaToOff(uint64_t va, uint64_t& off) const {
  for (const Segment& s : segs)
    if (va >= s.vaddr && va < s.vaddr + s.filesz) {
      off = va - s.vaddr + s.off;
      return true;
    }
  return false;
}

bool Image::offToVa(uint64_t off, uint64_t& va) const {
  for (const Segment& s : segs)
    if (s.exec && off >= s.off && off < s.off + s.filesz) {
      va = off - s.off + s.vaddr;
      return true;
    }
  return false;
}

Mapping::~Mapping() {
  if (p != MAP_FAILED) munmap(p, n);
}

bool loadImage(int fd, Mapping& m, Image& img) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr)) return false;
  m.n = size_t(st.st_size);
  m.p = mmap(nullptr, m.n, PROT_READ, MAP_PRIVATE, fd, 0);
  if (m.p == MAP_FAILED) return false;
  img.base = static_cast<const uint8_t*>(m.p);
  img.size = m.n;
  const Elf64_Ehdr* eh = reinterpret_cast<const Elf64_Ehdr*>(img.base);
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
      eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > img.size ||
      uint64_t(eh->e_phnum) * sizeof(Elf64_Phdr) > img.size - eh->e_phoff)
    return false;
  const Elf64_Phdr* ph = reinterpret_cast<const Elf64_Phdr*>(img.base + eh->e_phoff);
  for (unsigned i = 0; i < eh->e_phnum; i++) {
    if (ph[i].p_type != PT_LOAD || ph[i].p_offset > img.size || ph[i].p_filesz > img.size - ph[i].p_offset) continue;
    img.segs.push_back({ph[i].p_vaddr, ph[i].p_offset, ph[i].p_filesz, (ph[i].p_flags & PF_X) != 0});
  }
  return !img.segs.empty();
}

std::vector<uint64_t> findPathStrings(const Image& img, const char* suffix) {
  std::vector<uint64_t> out;
  const size_t nl = strlen(suffix) + 1;  // includes the NUL
  for (const Segment& s : img.segs) {
    if (s.exec) continue;
    const uint8_t* begin = img.base + s.off;
    const uint8_t* end = begin + s.filesz;
    for (const uint8_t* p = begin; p < end;) {
      const void* hit = memmem(p, size_t(end - p), suffix, nl);
      if (!hit) break;
      const uint8_t* h = static_cast<const uint8_t*>(hit);
      const uint8_t* start = h;
      while (start > begin && start[-1] != 0 && h - start < 512) start--;
      out.push_back(s.vaddr + uint64_t(start - begin));
      p = h + nl;
    }
  }
  return out;
}

std::vector<ErrSite> findErrSites(const Disasm& d, const Image& img, const std::vector<uint64_t>& strv, uint32_t lib) {
  std::set<uint64_t> strs(strv.begin(), strv.end());
  // Group candidate references by the function that holds them, then decode
  // each function once up to just past its last candidate (+ the call).
  std::map<uint64_t, std::vector<uint64_t>> byFunc;
  for (uint64_t ref : candidateRefs(img, strs)) {
    uint64_t fs;
    if (functionStart(img, ref, fs)) byFunc[fs].push_back(ref);
  }
  std::vector<ErrSite> sites;
  for (auto& [fs, refs] : byFunc) {
    uint64_t last = *std::max_element(refs.begin(), refs.end());
    std::vector<ErrSite> local;
    if (decodeFunction(d, img, fs, last + 48, strs, lib, refs, local)) sites.insert(sites.end(), local.begin(), local.end());
  }
  return sites;
}

bool validateEntry(const Disasm& d, const Image& img, uint64_t fstart, int arg_mask) {
  uint64_t off;
  if (!img.vaToOff(fstart, off) || fstart % 16 != 0) return false;
  const uint8_t* code = img.base + off;
  size_t size = std::min<size_t>(16, img.size - off);
  uint64_t addr = fstart;
  cs_insn* insn = cs_malloc(d.h());
  bool prologue = cs_disasm_iter(d.h(), &code, &size, &addr, insn) &&
                  (insn->id == X86_INS_PUSH || insn->id == X86_INS_ENDBR64 || insn->id == X86_INS_SUB ||
                   insn->id == X86_INS_MOV || insn->id == X86_INS_TEST || insn->id == X86_INS_CMP);
  cs_free(insn, 1);
  return prologue && pathReadsArgs(d, img, fstart, arg_mask, 0, 3);
}

std::string elfBuildId(int fd) {
  Mapping m;
  Image img;
  if (!loadImage(fd, m, img)) return "";
  const Elf64_Ehdr* eh = reinterpret_cast<const Elf64_Ehdr*>(img.base);
  const Elf64_Phdr* ph = reinterpret_cast<const Elf64_Phdr*>(img.base + eh->e_phoff);
  for (unsigned i = 0; i < eh->e_phnum; i++) {
    if (ph[i].p_type != PT_NOTE || ph[i].p_offset > img.size || ph[i].p_filesz > img.size - ph[i].p_offset) continue;
    const uint8_t* p = img.base + ph[i].p_offset;
    const uint8_t* end = p + ph[i].p_filesz;
    while (p + sizeof(Elf64_Nhdr) <= end) {
      const Elf64_Nhdr* nh = reinterpret_cast<const Elf64_Nhdr*>(p);
      const uint8_t* name = p + sizeof(Elf64_Nhdr);
      const uint8_t* desc = name + ((nh->n_namesz + 3) & ~3u);
      const uint8_t* next = desc + ((nh->n_descsz + 3) & ~3u);
      if (next > end) break;
      if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
        static const char hex[] = "0123456789abcdef";
        std::string s;
        for (uint32_t k = 0; k < nh->n_descsz; k++) {
          s += hex[desc[k] >> 4];
          s += hex[desc[k] & 15];
        }
        return s;
      }
      p = next;
    }
  }
  return "";
}

}  // namespace agentrail

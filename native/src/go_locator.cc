// SPDX-License-Identifier: Apache-2.0
#include "go_locator.h"

#include <capstone/capstone.h>
#include <elf.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cstring>


#include "capstone_disasm.h"

namespace agentrail {
namespace {

const char kWrite[] = "crypto/tls.(*Conn).Write";
const char kRead[] = "crypto/tls.(*Conn).Read";
constexpr uint32_t kMagic118 = 0xfffffff0, kMagic120 = 0xfffffff1;
constexpr uint64_t kMaxFuncSize = 64 * 1024;  // Read/Write are ~1-2 KiB
constexpr int kWriteArgs = 2, kReadArgs = 3;    // argBit(): rbx; rax|rbx

struct Section {
  uint64_t addr = 0, off = 0, size = 0;
  bool present = false;
};

// The parts of a Go ELF the locator reads, through a private read-only map.
struct GoImage {
  void* map = MAP_FAILED;
  size_t size = 0;
  const uint8_t* base = nullptr;
  Section text, pclntab, buildinfo, gonote, gnunote;
  ~GoImage() {
    if (map != MAP_FAILED) munmap(map, size);
  }
  bool inFile(uint64_t off, uint64_t len) const { return off <= size && len <= size - off; }
  bool textVa(uint64_t va, uint64_t len) const { return va >= text.addr && len <= text.size && va - text.addr <= text.size - len; }
  uint64_t vaToOff(uint64_t va) const { return va - text.addr + text.off; }
};

bool load(int fd, GoImage& img) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr)) return false;
  img.size = size_t(st.st_size);
  img.map = mmap(nullptr, img.size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (img.map == MAP_FAILED) return false;
  img.base = static_cast<const uint8_t*>(img.map);
  const Elf64_Ehdr* eh = reinterpret_cast<const Elf64_Ehdr*>(img.base);
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
      eh->e_shentsize != sizeof(Elf64_Shdr) || !img.inFile(eh->e_shoff, uint64_t(eh->e_shnum) * sizeof(Elf64_Shdr)) ||
      eh->e_shstrndx >= eh->e_shnum)
    return false;
  const Elf64_Shdr* sh = reinterpret_cast<const Elf64_Shdr*>(img.base + eh->e_shoff);
  const Elf64_Shdr& strs = sh[eh->e_shstrndx];
  if (!img.inFile(strs.sh_offset, strs.sh_size)) return false;
  for (unsigned i = 0; i < eh->e_shnum; i++) {
    if (sh[i].sh_name >= strs.sh_size || sh[i].sh_type == SHT_NOBITS || !img.inFile(sh[i].sh_offset, sh[i].sh_size)) continue;
    const char* name = reinterpret_cast<const char*>(img.base + strs.sh_offset + sh[i].sh_name);
    size_t maxlen = strs.sh_size - sh[i].sh_name;
    auto is = [&](const char* n) { return strnlen(name, maxlen) == strlen(n) && strcmp(name, n) == 0; };
    Section s{sh[i].sh_addr, sh[i].sh_offset, sh[i].sh_size, true};
    // PIE builds put the table in .data.rel.ro.gopclntab.
    if (is(".text")) img.text = s;
    else if (is(".gopclntab") || is(".data.rel.ro.gopclntab")) img.pclntab = s;
    else if (is(".go.buildinfo")) img.buildinfo = s;
    else if (is(".note.go.buildid")) img.gonote = s;
    else if (is(".note.gnu.build-id")) img.gnunote = s;
  }
  return true;
}

uint32_t rd32(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
uint64_t rd64(const uint8_t* p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

// Go version string from .go.buildinfo (Go 1.18+: inline, varint-prefixed).
std::string goVersion(const GoImage& img) {
  if (!img.buildinfo.present || img.buildinfo.size < 34) return "";
  const uint8_t* p = img.base + img.buildinfo.off;
  if (memcmp(p, "\xff Go buildinf:", 14) != 0 || !(p[15] & 2)) return "";
  uint64_t len = 0;
  size_t i = 32;
  for (int shift = 0; i < img.buildinfo.size && shift < 35; shift += 7) {
    uint8_t b = p[i++];
    len |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) break;
  }
  if (len == 0 || len > 64 || len > img.buildinfo.size - i) return "";
  std::string v(reinterpret_cast<const char*>(p + i), size_t(len));
  for (char c : v)
    if (c < 0x21 || c > 0x7e) return "";
  return v;
}

// Cache key: the GNU build-id (Go 1.24+ writes one), else a hash of the Go
// build ID note, which the go command derives from the binary's content.
std::string buildKey(const GoImage& img) {
  // Go's linker puts the GNU note in its own section, outside PT_NOTE.
  if (img.gnunote.present && img.gnunote.size > 16) {
    const uint8_t* p = img.base + img.gnunote.off;
    uint32_t namesz = rd32(p), descsz = rd32(p + 4), type = rd32(p + 8);
    if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(p + 12, "GNU", 4) == 0 && descsz <= 64 && 16 + descsz <= img.gnunote.size) {
      static const char hex[] = "0123456789abcdef";
      std::string s;
      for (uint32_t k = 0; k < descsz; k++) {
        s += hex[p[16 + k] >> 4];
        s += hex[p[16 + k] & 15];
      }
      return s;
    }
  }
  if (!img.gonote.present || img.gonote.size <= 16) return "";
  uint64_t h = 1469598103934665603ull;  // FNV-1a 64 over the note
  for (uint64_t i = 0; i < img.gonote.size; i++) h = (h ^ img.base[img.gonote.off + i]) * 1099511628211ull;
  char buf[40];
  snprintf(buf, sizeof buf, "90%016llx", (unsigned long long)h);
  return buf;
}

struct Func {
  uint64_t entry = 0, end = 0;
};

// Walks the functab of .gopclntab for the two functions. Returns a reason on failure.
const char* findFuncs(const GoImage& img, Func& write, Func& read) {
  const Section& t = img.pclntab;
  if (!t.present || t.size < 72) return "no-pclntab";
  const uint8_t* p = img.base + t.off;
  uint32_t magic = rd32(p);
  if ((magic != kMagic118 && magic != kMagic120) || p[4] != 0 || p[5] != 0 || p[6] != 1 || p[7] != 8)
    return "pclntab-unsupported";
  uint64_t nfunc = rd64(p + 8), textStart = rd64(p + 24), nameOff = rd64(p + 32), pclnOff = rd64(p + 64);
  // textStart is filled by a relocation in some builds (0 in the file): it is runtime.text, the start of .text.
  if (textStart == 0) textStart = img.text.addr;
  // functab holds nfunc + 1 entries of 8 bytes (the last one is the end of the last function).
  if (pclnOff >= t.size || nameOff >= t.size || nfunc == 0 || nfunc >= (t.size - pclnOff) / 8) return "pclntab-corrupt";
  const uint8_t* ftab = p + pclnOff;
  uint64_t ftabLen = t.size - pclnOff;
  const char* names = reinterpret_cast<const char*>(p + nameOff);
  uint64_t namesLen = t.size - nameOff;
  for (uint64_t i = 0; i < nfunc; i++) {
    uint32_t entryOff = rd32(ftab + i * 8), funcOff = rd32(ftab + i * 8 + 4), nextOff = rd32(ftab + i * 8 + 8);
    if (uint64_t(funcOff) + 8 > ftabLen) continue;
    int32_t nOff = int32_t(rd32(ftab + funcOff + 4));
    if (nOff < 0 || uint64_t(nOff) >= namesLen) continue;
    const char* name = names + nOff;
    size_t maxlen = namesLen - uint64_t(nOff);
    Func* f = nullptr;
    if (strnlen(name, maxlen) == sizeof(kWrite) - 1 && memcmp(name, kWrite, sizeof kWrite) == 0) f = &write;
    else if (strnlen(name, maxlen) == sizeof(kRead) - 1 && memcmp(name, kRead, sizeof kRead) == 0) f = &read;
    if (!f) continue;
    if (f->entry != 0) return "crypto-tls-ambiguous";
    f->entry = textStart + entryOff;
    f->end = textStart + nextOff;
  }
  if (write.entry == 0 && read.entry == 0) return "no-crypto-tls";
  if (write.entry == 0 || read.entry == 0) return "crypto-tls-incomplete";
  return nullptr;
}

// Bit of a Go register-ABI argument register (rax, rbx, rcx), 0 for others.
int argBit(uint16_t r) {
  switch (r) {
    case X86_REG_RAX: case X86_REG_EAX: return 1;
    case X86_REG_RBX: case X86_REG_EBX: return 2;
    case X86_REG_RCX: case X86_REG_ECX: return 4;
    default: return 0;
  }
}

// Decodes [f.entry, f.end) linearly (Go emits no data in .text; the tail is
// int3 padding). Checks the Go prologue: within the first three
// instructions a `cmp rsp|r12, [r14+0x10]` (stack bound of the goroutine g
// in r14) followed by `jbe` to morestack; then that the arguments in `want`
// (bits of rax/rbx/rcx) are read by the straight-line code after it before
// being overwritten (the compiler spills the buffer pointer there: Write
// keeps its receiver and length in registers). Collects every RET.
bool decodeGoFunc(const Disasm& d, const GoImage& img, const Func& f, int want, std::vector<uint64_t>* rets) {
  if (!img.textVa(f.entry, 16) || f.end <= f.entry || f.end - f.entry > kMaxFuncSize || !img.textVa(f.entry, f.end - f.entry))
    return false;
  const uint8_t* code = img.base + img.vaToOff(f.entry);
  size_t size = size_t(f.end - f.entry);
  uint64_t addr = f.entry;
  cs_insn* insn = cs_malloc(d.h());
  int n = 0, got = 0, dead = 0;
  bool stackCheck = false, prologue = false, flow = false;
  while (cs_disasm_iter(d.h(), &code, &size, &addr, insn)) {
    const cs_x86& x = insn->detail->x86;
    if (n < 3 && insn->id == X86_INS_CMP && x.op_count == 2 && x.operands[1].type == X86_OP_MEM &&
        x.operands[1].mem.base == X86_REG_R14 && x.operands[1].mem.disp == 0x10 && x.operands[1].mem.index == X86_REG_INVALID)
      stackCheck = true;
    else if (stackCheck && !prologue && insn->id == X86_INS_JBE)
      prologue = true;
    else if (prologue && !flow && n < 24) {
      cs_regs rd, wr;
      uint8_t nrd = 0, nwr = 0;
      if (cs_regs_access(d.h(), insn, rd, &nrd, wr, &nwr) == CS_ERR_OK) {
        for (uint8_t i = 0; i < nrd; i++) got |= argBit(rd[i]) & ~dead;
        for (uint8_t i = 0; i < nwr; i++) dead |= argBit(wr[i]) & ~got;
      }
    }
    // The argument check follows straight-line code only: a jump leads elsewhere.
    if (prologue && (insn->id == X86_INS_JMP || insn->id == X86_INS_CALL || insn->id == X86_INS_RET)) flow = true;
    if (insn->id == X86_INS_RET && rets) rets->push_back(img.vaToOff(insn->address));
    n++;
  }
  cs_free(insn, 1);
  // Whatever capstone could not decode must be the int3 padding before the next function.
  for (size_t i = 0; i < size; i++)
    if (code[i] != 0xcc) return false;
  return prologue && (got & want) == want;
}

}  // namespace

GoTlsLocation locateGoTls(int fd) {
  GoTlsLocation r;
  GoImage img;
  if (!load(fd, img)) {
    r.why = "not-x86-64-elf";
    return r;
  }
  r.is_go = img.pclntab.present || img.buildinfo.present || img.gonote.present;
  if (!r.is_go) {
    r.why = "not-go";
    return r;
  }
  r.build_id = buildKey(img);
  r.go_version = goVersion(img);
  if (!img.text.present) {
    r.why = "no-text";
    return r;
  }
  Func write, read;
  if (const char* why = findFuncs(img, write, read)) {
    r.why = why;
    return r;
  }
  Disasm d;
  if (!d.ok()) {
    r.why = "capstone-unavailable";
    return r;
  }
  // Write(b []byte): receiver rax, b.ptr rbx, b.len rcx. Read: receiver rax, buffer rbx (len rcx).
  if (!decodeGoFunc(d, img, write, kWriteArgs, nullptr) || !decodeGoFunc(d, img, read, kReadArgs, &r.read_rets)) {
    r.why = "validation-failed";
    r.read_rets.clear();
    return r;
  }
  if (r.read_rets.empty() || r.read_rets.size() > 64) {
    r.why = "read-returns-not-found";
    r.read_rets.clear();
    return r;
  }
  r.write = img.vaToOff(write.entry);
  r.read = img.vaToOff(read.entry);
  r.write_end = img.vaToOff(write.end);
  r.read_end = img.vaToOff(read.end);
  r.found = true;
  return r;
}

std::string goBuildKey(int fd, bool& is_go) {
  GoImage img;
  is_go = load(fd, img) && (img.pclntab.present || img.buildinfo.present || img.gonote.present);
  return is_go ? buildKey(img) : "";
}

bool revalidateGoTls(int fd, const GoTlsLocation& loc) {
  GoImage img;
  Disasm d;
  if (!load(fd, img) || !img.text.present || !d.ok()) return false;
  auto toVa = [&](uint64_t off) { return off - img.text.off + img.text.addr; };
  auto inText = [&](uint64_t off) { return off >= img.text.off && off - img.text.off < img.text.size; };
  if (!inText(loc.write) || !inText(loc.read) || !inText(loc.write_end - 1) || !inText(loc.read_end - 1)) return false;
  Func write{toVa(loc.write), toVa(loc.write_end)}, read{toVa(loc.read), toVa(loc.read_end)};
  std::vector<uint64_t> rets;
  return decodeGoFunc(d, img, write, kWriteArgs, nullptr) && decodeGoFunc(d, img, read, kReadArgs, &rets) && rets == loc.read_rets;
}

}  // namespace agentrail

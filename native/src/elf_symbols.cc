// SPDX-License-Identifier: Apache-2.0
#include "elf_symbols.h"

#include <elf.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cstring>

namespace agentrail {

bool findSymbols(int fd, const char* const names[4], uint64_t offs[4]) {
  for (int i = 0; i < 4; i++) offs[i] = 0;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr)) return false;
  size_t size = size_t(st.st_size);
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) return false;
  const uint8_t* base = static_cast<const uint8_t*>(map);
  bool found = false;
  auto inRange = [&](uint64_t off, uint64_t len) { return off <= size && len <= size - off; };
  do {
    const Elf64_Ehdr* eh = reinterpret_cast<const Elf64_Ehdr*>(base);
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64) break;
    if (eh->e_shentsize != sizeof(Elf64_Shdr) || !inRange(eh->e_shoff, uint64_t(eh->e_shnum) * sizeof(Elf64_Shdr)))
      break;
    const Elf64_Shdr* sh = reinterpret_cast<const Elf64_Shdr*>(base + eh->e_shoff);
    for (unsigned s = 0; s < eh->e_shnum; s++) {
      if (sh[s].sh_type != SHT_DYNSYM && sh[s].sh_type != SHT_SYMTAB) continue;
      if (sh[s].sh_link >= eh->e_shnum || sh[s].sh_entsize != sizeof(Elf64_Sym)) continue;
      const Elf64_Shdr& strs = sh[sh[s].sh_link];
      if (!inRange(sh[s].sh_offset, sh[s].sh_size) || !inRange(strs.sh_offset, strs.sh_size)) continue;
      const Elf64_Sym* syms = reinterpret_cast<const Elf64_Sym*>(base + sh[s].sh_offset);
      const char* str = reinterpret_cast<const char*>(base + strs.sh_offset);
      size_t n = sh[s].sh_size / sizeof(Elf64_Sym);
      for (size_t i = 0; i < n; i++) {
        const Elf64_Sym& sym = syms[i];
        if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF || sym.st_shndx >= eh->e_shnum ||
            sym.st_value == 0 || sym.st_name >= strs.sh_size)
          continue;
        const char* name = str + sym.st_name;
        if (name[0] != names[0][0] && name[0] != names[1][0]) continue;  // cheap reject (large .symtab)
        size_t maxlen = strs.sh_size - sym.st_name;
        for (int f = 0; f < 4; f++) {
          size_t fl = strlen(names[f]);
          if (maxlen > fl && strncmp(name, names[f], fl + 1) == 0 && offs[f] == 0) {
            const Elf64_Shdr& sec = sh[sym.st_shndx];
            offs[f] = sym.st_value - sec.sh_addr + sec.sh_offset;
          }
        }
      }
    }
    found = offs[0] != 0 || offs[1] != 0 || offs[2] != 0 || offs[3] != 0;
  } while (false);
  munmap(map, size);
  return found;
}

}  // namespace agentrail

// Sizes and field offsets of every struct of agentrail_abi.h, computed with
// offsetof here, so the TypeScript mirror (src/native/abi.ts) can be checked.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace agentrail {

struct StructLayout {
  std::string name;
  size_t size;
  std::vector<std::pair<std::string, size_t>> fields;  // name -> offset
};

std::vector<StructLayout> abi_layout();

}  // namespace agentrail

#include "batch.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace agentrail {

Batch::Batch(size_t capacity) : initial_(capacity) {}

Batch::~Batch() { std::free(data_); }

void Batch::grow(size_t need) {
  size_t cap = cap_ ? cap_ : initial_;
  while (cap < need) cap *= 2;
  auto* p = static_cast<uint8_t*>(std::realloc(data_, cap));
  if (!p) throw std::bad_alloc();
  data_ = p;
  cap_ = cap;
}

void Batch::append(const void* data, size_t len) {
  size_t padded = (len + 7) & ~size_t(7);
  if (len_ + padded > cap_) grow(len_ + padded);
  std::memcpy(data_ + len_, data, len);
  if (padded != len) std::memset(data_ + len_ + len, 0, padded - len);
  len_ += padded;
  records_++;
}

uint8_t* Batch::release() {
  uint8_t* p = data_;
  data_ = nullptr;
  cap_ = len_ = records_ = 0;
  return p;
}

}  // namespace agentrail

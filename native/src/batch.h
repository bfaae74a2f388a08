// A batch: many ring-buffer records back to back (each hdr.size long, 8-byte
// aligned) in one malloc'd buffer, handed to JS as one Buffer without a copy
// (release() transfers ownership; the Buffer's finalizer free()s it).
#pragma once

#include <cstddef>
#include <cstdint>

namespace agentrail {

class Batch {
 public:
  explicit Batch(size_t capacity);
  ~Batch();
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  // Appends one record, padding it to 8 bytes with zeros.
  void append(const void* data, size_t len);
  size_t records() const { return records_; }
  size_t size() const { return len_; }
  bool empty() const { return records_ == 0; }
  const uint8_t* data() const { return data_; }
  // Gives up the buffer (caller free()s it); the batch is empty afterwards.
  uint8_t* release();

 private:
  void grow(size_t need);
  uint8_t* data_ = nullptr;
  size_t cap_ = 0;
  size_t len_ = 0;
  size_t records_ = 0;
  size_t initial_;
};

}  // namespace agentrail

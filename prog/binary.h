// Compact binary encoding of programs and traces: the executor channel's
// payload and the fuzzers' input format.
//
// Little-endian LEB128 varints throughout; an op is its kind, its process and
// then exactly the fields its op-table row names, in row order. Decoding
// accepts any byte string: it returns false on anything malformed or on a
// program that fails Validate(), never crashes, never allocates unboundedly.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "prog/program.h"
#include "prog/result.h"

namespace mmdiff {

class ByteWriter {
 public:
  void U64(uint64_t v);
  void U8(uint8_t v) { buf_.push_back(v); }
  void Bytes(std::span<const uint8_t> b) { buf_.insert(buf_.end(), b.begin(), b.end()); }
  void Str(const std::string& s);
  std::vector<uint8_t>& buffer() { return buf_; }

 private:
  std::vector<uint8_t> buf_;
};

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}
  bool U64(uint64_t* v);
  bool U32(uint32_t* v);
  bool U8(uint8_t* v);
  bool Str(std::string* s, size_t max = 1 << 20);
  bool done() const { return pos_ == data_.size(); }
  size_t remaining() const { return data_.size() - pos_; }
  std::span<const uint8_t> rest() const { return data_.subspan(pos_); }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

// Ops only: expectations and line numbers are not encoded.
std::vector<uint8_t> EncodeProgram(const Program& prog);
bool DecodeProgram(std::span<const uint8_t> data, Program* out);

void EncodeTrace(const Trace& trace, ByteWriter* w);
bool DecodeTrace(ByteReader* r, Trace* out);

// Kernel coverage (Trace::kernel_cov), sent after a trace in the executor's
// reply when it has any: a count, then the sorted features as distances. An older executor
// sends none (the reader is done), an older client ignores it.
constexpr uint64_t kMaxKernelCoverage = 1u << 16;
void EncodeKernelCoverage(const std::vector<uint32_t>& features, ByteWriter* w);
// False on a malformed section (a count over kMaxKernelCoverage, short data).
bool DecodeKernelCoverage(ByteReader* r, std::vector<uint32_t>* out);

}  // namespace mmdiff

// A small sorted-vector map: the model's per-page and per-slot tables.
//
// Programs touch tens to hundreds of pages, so a sorted vector beats a node
// map on every count that matters here: one allocation, cache-friendly range
// walks (pagemap, scan, zap), and a plain copy for the copyable model state.
#pragma once

#include <algorithm>
#include <utility>
#include <vector>

namespace mmdiff {

template <class K, class V>
class FlatMap {
 public:
  using Entry = std::pair<K, V>;
  using iterator = typename std::vector<Entry>::iterator;
  using const_iterator = typename std::vector<Entry>::const_iterator;

  iterator begin() { return v_.begin(); }
  iterator end() { return v_.end(); }
  const_iterator begin() const { return v_.begin(); }
  const_iterator end() const { return v_.end(); }
  size_t size() const { return v_.size(); }
  bool empty() const { return v_.empty(); }
  void clear() { v_.clear(); }

  iterator LowerBound(K k) {
    return std::lower_bound(v_.begin(), v_.end(), k, [](const Entry& e, K key) { return e.first < key; });
  }
  const_iterator LowerBound(K k) const {
    return std::lower_bound(v_.begin(), v_.end(), k, [](const Entry& e, K key) { return e.first < key; });
  }
  V* Find(K k) {
    auto it = LowerBound(k);
    return it != v_.end() && it->first == k ? &it->second : nullptr;
  }
  const V* Find(K k) const {
    auto it = LowerBound(k);
    return it != v_.end() && it->first == k ? &it->second : nullptr;
  }
  // Inserts a default value if absent.
  V& operator[](K k) {
    auto it = LowerBound(k);
    if (it == v_.end() || it->first != k) it = v_.insert(it, Entry{k, V{}});
    return it->second;
  }
  void Erase(K k) {
    auto it = LowerBound(k);
    if (it != v_.end() && it->first == k) v_.erase(it);
  }
  iterator Erase(iterator it) { return v_.erase(it); }
  // Erases keys in [lo, hi).
  void EraseRange(K lo, K hi) { v_.erase(LowerBound(lo), LowerBound(hi)); }

  bool operator==(const FlatMap&) const = default;

 private:
  std::vector<Entry> v_;
};

}  // namespace mmdiff

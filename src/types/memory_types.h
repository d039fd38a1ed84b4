// src/types/memory_types.h - element conversion between an array's data type and a caller's memory
// type (spec/memory_types.md), and the converting Read and Write that apply it per chunk.
//
// Thread safety: pure functions; the converting Read/Write follow Array's rules (the caller holds
// the handle's metadata lock shared).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/array/array_impl.h"
#include "zarrpp/array.h"
#include "zarrpp/data_type.h"

namespace zarrpp::internal {

// True for the types conversion covers: bool, int8..int64, uint8..uint64, float16/32/64.
bool IsConvertibleType(DataTypeId id);

// True when every value of `from` converts to `to` exactly (Conversion::kExact allows the pair).
// Both must be convertible types.
bool IsExactConversion(DataTypeId from, DataTypeId to);

// InvalidArgument naming both types when `from` -> `to` is not allowed under `mode`, with `what`
// ("read of array 'x'") as its context.
Status CheckConversion(DataTypeId from, DataTypeId to, Conversion mode, const std::string& what);

// Converts `n` consecutive elements of `from` at `src` to `to` at `dst` (the rules of
// Conversion::kAllowNarrowing; an exact pair never fails). Returns the index of the first element
// that does not fit (elements before it are converted), or n.
uint64_t ConvertElements(const uint8_t* src, DataTypeId from, uint8_t* dst, DataTypeId to,
                         uint64_t n);

// The element at `p` as text ("300", "nan", "1.5e+40").
std::string FormatElement(const uint8_t* p, DataTypeId type);

// Converts the box of `box_shape` at `src_origin` in C-order `src` (shape src_shape, type `from`)
// to `dst_origin` in `dst` (shape dst_shape, type `to`). Returns the C-order index in the box of
// the first element that does not fit, or the box's element count.
uint64_t ConvertBox(const uint8_t* src, DataTypeId from, const std::vector<uint64_t>& src_shape,
                    const uint64_t* src_origin, uint8_t* dst, DataTypeId to,
                    const std::vector<uint64_t>& dst_shape, const uint64_t* dst_origin,
                    const std::vector<uint64_t>& box_shape);

// Read and Write of `region` (checked against the array) with a caller buffer of `memory_type`
// elements (its size checked). The conversion must have passed CheckConversion.
Status ConvertingRead(Array::Impl& a, const Region& region, MutableByteView out,
                      DataTypeId memory_type, bool batched);
Status ConvertingWrite(Array::Impl& a, const Region& region, ByteView in, DataTypeId memory_type,
                       bool narrowing, bool batched);

}  // namespace zarrpp::internal

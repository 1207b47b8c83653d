#include "clients/cpp/value.h"

#include <cmath>

#include "clients/cpp/errors.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace filesgw::client {
namespace {

const char* KindName(const Value& v) {
  if (v.is_null()) return "null";
  if (v.is_bool()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

[[noreturn]] void WrongKind(const Value& v, const char* wanted) {
  ThrowError("InvalidParameterError", std::string("expected ") + wanted + ", got " + KindName(v));
}

void Write(const Value& v, rapidjson::Writer<rapidjson::StringBuffer>* w) {
  if (v.is_null()) {
    w->Null();
  } else if (v.is_bool()) {
    w->Bool(v.as_bool());
  } else if (v.is_int()) {
    w->Int64(v.as_int());
  } else if (v.is_double()) {
    double d = v.as_double();
    if (std::isfinite(d)) {
      w->Double(d);
    } else {
      w->Null();  // JSON has no NaN or infinity
    }
  } else if (v.is_string()) {
    const auto& s = v.as_string();
    w->String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  } else if (v.is_array()) {
    w->StartArray();
    for (const auto& item : v.as_array()) Write(item, w);
    w->EndArray();
  } else {
    w->StartObject();
    for (const auto& [key, item] : v.as_object()) {
      w->Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
      Write(item, w);
    }
    w->EndObject();
  }
}

Value Read(const rapidjson::Value& j) {
  if (j.IsBool()) return Value(j.GetBool());
  if (j.IsInt64()) return Value(j.GetInt64());
  if (j.IsUint64()) return Value(static_cast<double>(j.GetUint64()));
  if (j.IsNumber()) return Value(j.GetDouble());
  if (j.IsString()) return Value(std::string(j.GetString(), j.GetStringLength()));
  if (j.IsArray()) {
    Array out;
    out.reserve(j.Size());
    for (const auto& item : j.GetArray()) out.push_back(Read(item));
    return Value(std::move(out));
  }
  if (j.IsObject()) {
    Params out;
    for (const auto& m : j.GetObject()) {
      out[std::string(m.name.GetString(), m.name.GetStringLength())] = Read(m.value);
    }
    return Value(std::move(out));
  }
  return Value();
}

}  // namespace

bool Value::as_bool() const {
  if (!is_bool()) WrongKind(*this, "a boolean");
  return std::get<bool>(data_);
}

int64_t Value::as_int() const {
  if (!is_int()) WrongKind(*this, "an integer");
  return std::get<int64_t>(data_);
}

double Value::as_double() const {
  if (is_int()) return static_cast<double>(std::get<int64_t>(data_));
  if (!is_double()) WrongKind(*this, "a number");
  return std::get<double>(data_);
}

const std::string& Value::as_string() const {
  if (!is_string()) WrongKind(*this, "a string");
  return std::get<std::string>(data_);
}

const Array& Value::as_array() const {
  if (!is_array()) WrongKind(*this, "an array");
  return std::get<Array>(data_);
}

const Params& Value::as_object() const {
  if (!is_object()) WrongKind(*this, "an object");
  return std::get<Params>(data_);
}

std::string Value::ToJson() const {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  Write(*this, &writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

Value Value::FromJson(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) {
    ThrowError("InvalidParameterError",
               std::string("invalid JSON at offset ") + std::to_string(doc.GetErrorOffset()) +
                   ": " + rapidjson::GetParseError_En(doc.GetParseError()));
  }
  return Read(doc);
}

bool operator==(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.as_int() == b.as_int();
    return a.as_double() == b.as_double();
  }
  return a.data_ == b.data_;
}

}  // namespace filesgw::client

// Build-time generator of the C++ client's typed layer, read from the
// descriptors embedded by proto/ (the same ones the dynamic layer uses):
//
//   models::<Model>       one class per files.v1 message a call answers with
//                         (User, File, ...), a Model with an accessor per field:
//                         user.username() is a std::string, user.id() an int64_t
//   requests::<Action>    one params builder per RPC request, a setter per field
//                         that is not a REST path param: ListUsers().set_per_page(100)
//   typed::<Name>Resource one class per SDK resource, a method per action, with
//                         the path params as typed arguments
//   typed::ResourceAccessors<Client>  Users(), Files(), ApiKeys(), ... on Client
//
//   cpp_client_typegen OUT_DIR   # writes OUT_DIR/typed_gen.h and typed_gen.cc
//
// Nothing in the output is written per resource by hand.
#include <algorithm>
#include <cctype>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "clients/cpp/internal/names.h"
#include "proto/api_pool.h"

namespace {

using filesgw::client::names::EndsWith;
using filesgw::client::names::PathParams;
using filesgw::client::names::Plural;
using filesgw::client::names::Quote;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;

const std::set<std::string> kReserved = {
    "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break",
    "case", "catch", "char", "class", "compl", "concept", "const", "consteval", "constexpr",
    "constinit", "const_cast", "continue", "co_await", "co_return", "co_yield", "decltype",
    "default", "delete", "do", "double", "dynamic_cast", "else", "enum", "explicit", "export",
    "extern", "false", "float", "for", "friend", "goto", "if", "inline", "int", "long",
    "mutable", "namespace", "new", "noexcept", "not", "not_eq", "nullptr", "operator", "or",
    "or_eq", "private", "protected", "public", "register", "reinterpret_cast", "requires",
    "return", "short", "signed", "sizeof", "static", "static_assert", "static_cast", "struct",
    "switch", "template", "this", "thread_local", "throw", "true", "try", "typedef", "typeid",
    "typename", "union", "unsigned", "using", "virtual", "void", "volatile", "wchar_t", "while",
    "xor", "xor_eq",
    // Members of Model and of the generated classes themselves.
    "proto", "valid", "params", "resource", "errno", "assert", "major", "minor"};

std::string Ident(const std::string& name) {
  return kReserved.count(name) ? name + "_" : name;
}

std::string Camel(const std::string& snake) {
  std::string out;
  bool up = true;
  for (char c : snake) {
    if (c == '_' || c == '-' || c == '?') {
      up = true;
      continue;
    }
    out += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    up = false;
  }
  return out;
}

bool IsFilesModel(const Descriptor* d) { return d->file()->package() == "files.v1"; }

// A list answer: {repeated T items [, next_cursor]}.
const Descriptor* ItemsOf(const Descriptor* d) {
  const FieldDescriptor* items = d->FindFieldByName("items");
  if (items == nullptr || !items->is_repeated() || items->message_type() == nullptr) return nullptr;
  for (int i = 0; i < d->field_count(); ++i) {
    const std::string& n = d->field(i)->name();
    if (n != "items" && n != "next_cursor") return nullptr;
  }
  return items->message_type();
}

std::string ModelName(const Descriptor* d) {
  // Nested messages get their parents' names joined by '_'.
  std::string name = d->name();
  for (const Descriptor* p = d->containing_type(); p != nullptr; p = p->containing_type()) {
    name = p->name() + "_" + name;
  }
  return name;
}

struct Accessor {
  std::string type;  // C++ return type
  std::string expr;  // body, with KEY for the Files.com key
};

// How a field reads from a Model (the dynamic layer already maps every kind).
Accessor ReadOf(const FieldDescriptor* f) {
  using FD = FieldDescriptor;
  if (f->is_map()) return {"Value", "return Get(KEY);"};
  const Descriptor* m = f->message_type();
  if (m != nullptr && !IsFilesModel(m)) return {"Value", "return Get(KEY);"};
  if (f->is_repeated()) {
    if (m != nullptr) {
      return {"std::vector<models::" + ModelName(m) + ">",
              "return internal::ModelsOf<models::" + ModelName(m) + ">(GetModels(KEY));"};
    }
    switch (f->cpp_type()) {
      case FD::CPPTYPE_STRING:
      case FD::CPPTYPE_ENUM: return {"std::vector<std::string>", "return internal::StringsOf(Get(KEY));"};
      case FD::CPPTYPE_BOOL: return {"std::vector<bool>", "return internal::BoolsOf(Get(KEY));"};
      case FD::CPPTYPE_DOUBLE:
      case FD::CPPTYPE_FLOAT: return {"std::vector<double>", "return internal::DoublesOf(Get(KEY));"};
      default: return {"std::vector<int64_t>", "return internal::IntsOf(Get(KEY));"};
    }
  }
  if (m != nullptr) return {"models::" + ModelName(m), "return models::" + ModelName(m) + "(GetModel(KEY));"};
  switch (f->cpp_type()) {
    case FD::CPPTYPE_STRING:
    case FD::CPPTYPE_ENUM: return {"std::string", "return GetString(KEY);"};
    case FD::CPPTYPE_BOOL: return {"bool", "return GetBool(KEY);"};
    case FD::CPPTYPE_DOUBLE:
    case FD::CPPTYPE_FLOAT: return {"double", "return internal::DoubleOf(Get(KEY));"};
    default: return {"int64_t", "return GetInt(KEY);"};
  }
}

// The argument type of a setter.
std::string WriteType(const FieldDescriptor* f) {
  using FD = FieldDescriptor;
  if (f->is_map() || f->message_type() != nullptr) return "Value";
  if (f->is_repeated()) {
    switch (f->cpp_type()) {
      case FD::CPPTYPE_STRING:
      case FD::CPPTYPE_ENUM: return "const std::vector<std::string>&";
      case FD::CPPTYPE_BOOL: return "const std::vector<bool>&";
      case FD::CPPTYPE_DOUBLE:
      case FD::CPPTYPE_FLOAT: return "const std::vector<double>&";
      default: return "const std::vector<int64_t>&";
    }
  }
  switch (f->cpp_type()) {
    case FD::CPPTYPE_STRING:
    case FD::CPPTYPE_ENUM: return "std::string";
    case FD::CPPTYPE_BOOL: return "bool";
    case FD::CPPTYPE_DOUBLE:
    case FD::CPPTYPE_FLOAT: return "double";
    default: return "int64_t";
  }
}

std::string ArgType(const Descriptor* input, const std::string& param) {
  const FieldDescriptor* f = input->FindFieldByName(param);
  if (f != nullptr && f->cpp_type() != FieldDescriptor::CPPTYPE_STRING &&
      f->cpp_type() != FieldDescriptor::CPPTYPE_ENUM && f->message_type() == nullptr) {
    return "int64_t";
  }
  return "const std::string&";
}

struct Action {
  std::string name;  // SDK action, "list_for"
  const MethodDescriptor* method;
  const files::v1::SdkMethod* sdk;
  std::vector<std::string> path_params;
};

std::string RequestName(const Descriptor* d) {
  std::string n = d->name();
  return EndsWith(n, "Request") ? n.substr(0, n.size() - 7) : n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: cpp_client_typegen OUT_DIR\n";
    return 2;
  }
  const std::string out_dir = argv[1];
  const auto& api = filesgw::proto::Api();

  std::map<std::string, std::map<std::string, Action>> resources;
  std::map<std::string, const Descriptor*> models;      // by class name
  std::map<std::string, const Descriptor*> requests;    // by class name
  std::map<const Descriptor*, std::set<std::string>> skip_fields;  // path params of a request
  std::vector<const Descriptor*> todo;
  for (const auto* service : api.services) {
    for (int i = 0; i < service->method_count(); ++i) {
      const MethodDescriptor* md = service->method(i);
      const auto* sdk = filesgw::proto::SdkMethodOf(md);
      const auto* rest = filesgw::proto::RestBindingOf(md);
      if (sdk == nullptr || rest == nullptr || md->client_streaming() || md->server_streaming()) continue;
      Action a{sdk->action(), md, sdk, PathParams(rest->path())};
      resources[sdk->resource()][sdk->action()] = a;
      const std::string rname = RequestName(md->input_type());
      if (requests.count(rname) && requests[rname] != md->input_type()) {
        std::cerr << "typegen: two requests named " << rname << "\n";
        return 1;
      }
      requests[rname] = md->input_type();
      for (const auto& p : a.path_params) skip_fields[md->input_type()].insert(p);
      const Descriptor* out = md->output_type();
      if (const Descriptor* items = ItemsOf(out)) out = items;
      if (IsFilesModel(out)) todo.push_back(out);
    }
  }
  // Every files.v1 message reachable from an answer.
  while (!todo.empty()) {
    const Descriptor* d = todo.back();
    todo.pop_back();
    if (models.count(ModelName(d))) continue;
    models[ModelName(d)] = d;
    for (int i = 0; i < d->field_count(); ++i) {
      const Descriptor* m = d->field(i)->message_type();
      if (m != nullptr && IsFilesModel(m) && !d->field(i)->is_map()) todo.push_back(m);
    }
  }

  std::ostringstream h, cc;
  h << "// Generated by clients/cpp/typegen.cc from the embedded descriptors. DO NOT EDIT.\n"
       "// The typed layer of the C++ client; include clients/cpp/client.h, not this file.\n"
       "#ifndef FILESGW_CLIENTS_CPP_TYPED_GEN_H_\n#define FILESGW_CLIENTS_CPP_TYPED_GEN_H_\n\n"
       "#include <cstdint>\n#include <string>\n#include <vector>\n\n"
       "#include \"clients/cpp/typed.h\"\n\n"
       "namespace filesgw::client {\n\nnamespace models {\n";
  for (const auto& [name, d] : models) h << "class " << name << ";\n";
  h << "\n";
  cc << "// Generated by clients/cpp/typegen.cc from the embedded descriptors. DO NOT EDIT.\n"
        "#include \"clients/cpp/client.h\"\n\nnamespace filesgw::client {\n\n";

  // Models.
  for (const auto& [name, d] : models) {
    h << "// files.v1." << d->full_name().substr(9) << "\n";
    h << "class " << name << " : public Model {\n public:\n  " << name << "() = default;\n"
      << "  explicit " << name << "(Model m) : Model(std::move(m)) {}\n";
    std::set<std::string> seen;
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      std::string ident = Ident(f->name());
      if (!seen.insert(ident).second) continue;
      Accessor a = ReadOf(f);
      const std::string& key = filesgw::proto::FilesJsonKey(f);
      h << "  " << a.type << " " << ident << "() const;\n";
      h << "  bool has_" << f->name() << "() const { return Has(" << Quote(key) << "); }\n";
      std::string body = a.expr;
      body.replace(body.find("KEY"), 3, Quote(key));
      cc << a.type << " models::" << name << "::" << ident << "() const { " << body << " }\n";
    }
    h << "};\n\n";
  }
  h << "}  // namespace models\n\nnamespace requests {\n\n";

  // Request params.
  for (const auto& [name, d] : requests) {
    h << "// files.v1." << d->name() << "\n";
    h << "class " << name << " : public RequestParams {\n public:\n";
    std::set<std::string> seen;
    const auto& skip = skip_fields[d];
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      if (skip.count(f->name()) || !seen.insert(f->name()).second) continue;
      const std::string& key = filesgw::proto::FilesJsonKey(f);
      h << "  " << name << "& set_" << f->name() << "(" << WriteType(f) << " v) { Set("
        << Quote(key) << ", internal::ToValue(v)); return *this; }\n";
    }
    h << "};\n\n";
  }
  h << "}  // namespace requests\n\nnamespace typed {\n\n";

  // Resources.
  std::vector<std::pair<std::string, std::string>> accessors;  // method name, resource
  for (const auto& [res, actions] : resources) {
    const std::string cls = res + "Resource";
    accessors.emplace_back(Camel(Plural(filesgw::client::names::SnakeCase(res))), res);
    const Descriptor* own = nullptr;
    for (const auto& [n, d] : models) {
      if (n == res) own = d;
    }
    h << "// The " << res << " resource: every action of it.\n";
    h << "class " << cls << " {\n public:\n  explicit " << cls
      << "(Resource resource) : resource_(std::move(resource)) {}\n"
      << "  const Resource& resource() const { return resource_; }\n";
    for (const auto& [act, a] : actions) {
      const Descriptor* in = a.method->input_type();
      const Descriptor* out = a.method->output_type();
      std::string ret, call_expr;
      const std::string req = "requests::" + RequestName(in);
      std::string args_decl, args_list;
      for (const auto& p : a.path_params) {
        args_decl += ArgType(in, p) + " " + Ident(p) + ", ";
        args_list += (args_list.empty() ? "" : ", ") + std::string("Value(") + Ident(p) + ")";
      }
      const std::string q = Quote(act);
      if (a.sdk->paginated()) {
        const Descriptor* item = ItemsOf(out);
        ret = "TypedList<models::" + ModelName(item) + ">";
        call_expr = "return " + ret + "(resource_.ListAction(" + q + ", {" + args_list +
                    "}, params.params(), options));";
      } else if (out->full_name() == "google.protobuf.Empty") {
        ret = "void";
        call_expr = "resource_.Call(" + q + ", {" + args_list + "}, params.params(), options);";
      } else if (const Descriptor* item = ItemsOf(out)) {
        ret = "std::vector<models::" + ModelName(item) + ">";
        call_expr = "return internal::ModelsOf<models::" + ModelName(item) +
                    ">(resource_.Call(" + q + ", {" + args_list +
                    "}, params.params(), options).GetModels(\"items\"));";
      } else if (IsFilesModel(out)) {
        ret = "models::" + ModelName(out);
        call_expr = "return " + ret + "(resource_.Call(" + q + ", {" + args_list +
                    "}, params.params(), options));";
      } else {
        ret = "Model";
        call_expr = "return resource_.Call(" + q + ", {" + args_list + "}, params.params(), options);";
      }
      const std::string fn = Camel(act);
      h << "  // " << res << "." << act << ": files.v1." << a.method->service()->name() << "/"
        << a.method->name() << "\n";
      h << "  " << ret << " " << fn << "(" << args_decl << "const " << req
        << "& params = {}, const CallOptions& options = {}) const;\n";
      cc << ret << " typed::" << cls << "::" << fn << "(" << args_decl << "const " << req
         << "& params, const CallOptions& options) const {\n  " << call_expr << "\n}\n";
      // Per-object form: the path params come from the object's own fields.
      bool per_object = own != nullptr && !a.path_params.empty() && !a.sdk->paginated();
      for (const auto& p : a.path_params) {
        if (own == nullptr || own->FindFieldByName(p) == nullptr) per_object = false;
      }
      if (per_object) {
        h << "  " << ret << " " << fn << "(const models::" << res << "& object, const " << req
          << "& params = {}, const CallOptions& options = {}) const;\n";
        std::string from_obj;
        for (const auto& p : a.path_params) {
          from_obj += (from_obj.empty() ? "" : ", ") + std::string("object.") + Ident(p) + "()";
        }
        cc << ret << " typed::" << cls << "::" << fn << "(const models::" << res
           << "& object, const " << req << "& params, const CallOptions& options) const {\n"
           << "  internal::RequireFields(object, " << Quote(res + "." + act) << ", {";
        bool first = true;
        for (const auto& p : a.path_params) {
          cc << (first ? "" : ", ") << Quote(filesgw::proto::FilesJsonKey(own->FindFieldByName(p)));
          first = false;
        }
        cc << "});\n  " << (ret == "void" ? "" : "return ") << fn << "(" << from_obj
           << ", params, options);\n}\n";
      }
    }
    h << "\n private:\n  Resource resource_;\n};\n\n";
  }

  // Client accessors.
  h << "// Users(), Files(), ApiKeys(), ...: every resource by its plural, on Client.\n"
       "template <typename C>\nclass ResourceAccessors {\n public:\n";
  std::set<std::string> names;
  for (const auto& [fn, res] : accessors) {
    if (!names.insert(fn).second) {
      std::cerr << "typegen: two resources named " << fn << "\n";
      return 1;
    }
    h << "  " << res << "Resource " << fn << "() const { return " << res
      << "Resource(static_cast<const C*>(this)->resource(" << Quote(res) << ")); }\n";
  }
  h << "};\n\n}  // namespace typed\n}  // namespace filesgw::client\n\n"
       "#endif  // FILESGW_CLIENTS_CPP_TYPED_GEN_H_\n";
  cc << "\n}  // namespace filesgw::client\n";

  for (const auto& [file, text] : {std::pair<std::string, std::string>{"typed_gen.h", h.str()},
                                   {"typed_gen.cc", cc.str()}}) {
    const std::string path = out_dir + "/" + file;
    // Rewrite only on change, so dependants do not rebuild for nothing.
    std::ifstream old(path, std::ios::binary);
    std::stringstream have;
    have << old.rdbuf();
    if (old && have.str() == text) continue;
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f) {
      std::cerr << "typegen: cannot write " << path << "\n";
      return 1;
    }
  }
  return 0;
}

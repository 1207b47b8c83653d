// Names the C++ client derives from the descriptors, shared by the library
// (api.cc: "users" -> User, REST path params) and its build-time generators
// (errgen.cc, typegen.cc), so the generated code and the runtime agree.
#ifndef FILESGW_CLIENTS_CPP_INTERNAL_NAMES_H_
#define FILESGW_CLIENTS_CPP_INTERNAL_NAMES_H_

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace filesgw::client::names {

// "As2Partner" -> "as2_partner".
inline std::string SnakeCase(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    unsigned char c = name[i];
    if (std::isupper(c) && i > 0 &&
        (std::islower(static_cast<unsigned char>(name[i - 1])) ||
         std::isdigit(static_cast<unsigned char>(name[i - 1])))) {
      out += '_';
    }
    out += static_cast<char>(std::tolower(c));
  }
  return out;
}

inline bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The English plural of a snake_case noun, enough for the Files.com resources.
inline std::string Plural(const std::string& word) {
  if (word.size() >= 2 && word.back() == 'y' &&
      std::string_view("aeiou").find(word[word.size() - 2]) == std::string_view::npos) {
    return word.substr(0, word.size() - 1) + "ies";
  }
  for (const char* s : {"s", "x", "z", "ch", "sh"}) {
    if (EndsWith(word, s)) return word + "es";
  }
  return word + "s";
}

// The {params} of a REST path, in order: "/users/{id}" -> {"id"}.
inline std::vector<std::string> PathParams(const std::string& path) {
  std::vector<std::string> out;
  for (std::size_t open = path.find('{'); open != std::string::npos; open = path.find('{', open)) {
    std::size_t close = path.find('}', open);
    if (close == std::string::npos) break;
    out.push_back(path.substr(open + 1, close - open - 1));
    open = close;
  }
  return out;
}

// A C++ string literal of `text`.
inline std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace filesgw::client::names

#endif  // FILESGW_CLIENTS_CPP_INTERNAL_NAMES_H_

#include "util/x509_names.hpp"

#include <arpa/inet.h>

#include <memory>

#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace hatchet::util {

namespace {

struct names_free {
  void operator()(GENERAL_NAMES* n) const noexcept { GENERAL_NAMES_free(n); }
};

std::string asn1_text(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

} // namespace

std::vector<std::string> certificate_names(X509* cert) {
  std::vector<std::string> out;
  std::unique_ptr<GENERAL_NAMES, names_free> alt{static_cast<GENERAL_NAMES*>(
    X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr))};
  for (int i = 0; alt && i < sk_GENERAL_NAME_num(alt.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(alt.get(), i);
    if (name->type == GEN_DNS) {
      out.push_back(asn1_text(name->d.dNSName));
    } else if (name->type == GEN_IPADD) {
      int len = ASN1_STRING_length(name->d.iPAddress);
      char text[INET6_ADDRSTRLEN] = {};
      if ((len == 4 || len == 16)
          && inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(name->d.iPAddress),
                       text, sizeof text)
               != nullptr)
        out.emplace_back(text);
    }
  }
  if (out.empty()) {
    X509_NAME* subject = X509_get_subject_name(cert);
    int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (at >= 0)
      out.push_back(asn1_text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at))));
  }
  ERR_clear_error();
  return out;
}

} // namespace hatchet::util

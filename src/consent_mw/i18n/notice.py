"""The privacy notice's own wording: headings, labels and the statements every notice makes.

A policy adds paragraphs of its own with ``[notice.extra]``; what is here is what every
notice says. Read each table with :func:`consent_mw.i18n.in_locale` (English for a
locale without its own entry).
"""

from __future__ import annotations

__all__ = ["AUTOMATIC_ITEMS", "HEADINGS", "LABELS", "LANGUAGE_NAMES", "RIGHTS"]

HEADINGS: dict[str, dict[str, str]] = {
    "en": {
        "contents": "Contents",
        "collected": "Personal data we collect",
        "purposes": "Why we process it",
        "processors": "Processors we entrust",
        "third-parties": "Provision to third parties",
        "retention": "How long we keep it",
        "destruction": "How we destroy it",
        "rights": "Your rights and how to use them",
        "children": "Children under {age}",
        "cookies": "Cookies and how to refuse them",
        "customised-ads": "Customised advertising",
        "security": "How we keep it secure",
        "contacts": "Privacy officer and where to report",
        "changes": "Changes to this policy",
    },
    "ko": {
        "contents": "목차",
        "collected": "수집하는 개인정보 항목",
        "purposes": "개인정보의 처리 목적",
        "processors": "개인정보 처리의 위탁",
        "third-parties": "개인정보의 제3자 제공",
        "retention": "개인정보의 처리 및 보유 기간",
        "destruction": "개인정보의 파기 절차 및 방법",
        "rights": "정보주체의 권리와 행사 방법",
        "children": "만 {age}세 미만 아동의 개인정보 보호",
        "cookies": "쿠키의 설치·운영 및 거부",
        "customised-ads": "맞춤형 광고와 행태정보",
        "security": "개인정보의 안전성 확보 조치",
        "contacts": "개인정보 보호책임자와 권익침해 구제방법",
        "changes": "개인정보처리방침의 변경",
    },
}
"""Section headings per locale (``{age}``: the child age); unknown locales get English."""

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Privacy policy",
        "title_of": "{name} privacy policy",
        "we": "We",
        "contents": "Contents",
        "languages": "This notice in other languages",
        "version": "Version",
        "announced": "Announced",
        "effective": "Effective",
        "item": "Item",
        "purpose": "Purpose",
        "category": "Consent category",
        "when": "When",
        "required": "Required",
        "optional": "Optional",
        "always_on": "always on",
        "required_caption": "Required items",
        "optional_caption": "Optional items",
        "automatic_caption": "Generated or collected automatically while you use the service",
        "purposes_caption": "Purposes and their legal basis",
        "history_caption": "Versions of this policy",
        "basis": "Legal basis",
        "basis_necessary": "Necessary to provide the service you asked for",
        "basis_consent": "Your consent",
        "processor": "Processor",
        "task": "What it does",
        "country": "Country",
        "used_for": "Used for",
        "overseas": "overseas transfer",
        "processors_caption": "Processors and the work entrusted to them",
        "recipient": "Recipient",
        "items": "Items provided",
        "kept_by_recipient": "Kept by the recipient for",
        "third_caption": "Recipients of personal data",
        "record": "Record",
        "law": "Law",
        "keep": "Kept for",
        "retention_caption": "Retention by purpose",
        "statutory_caption": "Records kept because a law requires it",
        "until_purpose": "Until the purpose is achieved",
        "cookie": "Cookie",
        "owner": "Set by",
        "lifetime": "Lifetime",
        "party": "Party",
        "first_party": "First party",
        "third_party": "Third party",
        "cookies_caption": "{title} cookies",
        "not_stated": "—",
        "none": "None",
        "summary": "Summary",
        "major": "Major change",
        "yes": "Yes",
        "no": "No",
        "current": "current",
        "current_summary": "This version.",
        "administrative": "Administrative measures",
        "technical": "Technical measures",
        "physical": "Physical measures",
        "officer": "Privacy officer",
        "controller": "Controller",
        "department": "Department",
        "helpdesk": "Help desk",
        "phone": "Phone",
        "email": "E-mail",
        "address": "Address",
        "body": "Body",
        "handles": "What it handles",
        "website": "Website",
        "officer_heading": "Privacy officer",
        "bodies_heading": "Where to report an infringement",
        "bodies_caption": "Bodies that take reports and settle disputes",
        "ads_data": "Behavioural data collected",
        "ads_data_default": (
            "Pages visited, usage patterns and the advertising identifiers held in cookies"
        ),
        "ads_method": "How it is collected",
        "ads_method_default": (
            "Automatically while you visit, through the advertising cookies and tags "
            "listed under “Cookies”"
        ),
        "ads_by": "Collected and used by",
        "ads_retention": "Kept for",
        "ads_optout": "How to opt out",
        "ads_optout_text": (
            "Turn customised advertising off on the customised-advertising page, withdraw "
            "consent, or send a Global Privacy Control signal from your browser."
        ),
        "action_records": "See your consent records",
        "action_export": "Download your consent records (JSON)",
        "action_delete": "Delete your consent records",
        "action_withdraw": "Withdraw all optional consent",
        "action_ads": "Customised advertising choices",
        "action_preferences": "Change your choices",
        "preferences_hint": (
            "You can change your choices at any time with the “{button}” button shown on "
            "every page."
        ),
        "post": "sent as a form POST",
        # Paragraphs.
        "intro": (
            "{controller} explains here what personal data it processes and why, who "
            "processes it on its behalf, how long it is kept, and how you can use your rights."
        ),
        "collected": (
            "We collect only what each purpose needs. Optional items serve extra features: "
            "refusing them never restricts the service."
        ),
        "collected_consent": (
            "We collect personal data only after telling you and, where consent is needed, "
            "asking for it; we never collect sensitive data without your separate consent."
        ),
        "purposes": (
            "We use personal data only for the purposes below. Before using it for any other "
            "purpose we ask for your consent again."
        ),
        "processors": (
            "We entrust the work below to processors. Our contracts allow them to use the "
            "data for this work only, require them to keep it secure, and oblige them to "
            "return or destroy it when the work ends; we supervise that they do."
        ),
        "processors_none": "We do not entrust the processing of personal data to anyone.",
        "third_none": (
            "We do not provide personal data to third parties. We would do so only with your "
            "separate consent or where a law requires it."
        ),
        "third_listed": (
            "We provide personal data to the recipients below only with your separate consent "
            "or where a law requires it."
        ),
        "retention": (
            "We keep personal data only as long as its purpose needs, then destroy it. Where a "
            "law requires us to keep a record, we keep it apart from other data, for the "
            "period the law sets, and use it for nothing else."
        ),
        "destruction_when": (
            "When: without delay once the purpose is achieved or the retention period ends."
        ),
        "destruction_how": (
            "How: electronic files are deleted with methods that make them impossible to "
            "recover; printed records are shredded or incinerated."
        ),
        "rights": "You can use these rights at any time:",
        "rights_agent": (
            "A legal representative, or someone you authorise, can use them on your behalf."
        ),
        "rights_how": (
            "Use the links below, or contact the privacy officer in writing, by phone or by "
            "e-mail; we act without delay."
        ),
        "children": (
            "We collect personal data of children under {age} only with the verified consent "
            "of their legal guardian. The guardian may ask to see, correct or delete the "
            "child's data, or to stop its processing."
        ),
        "children_ads": (
            "We do not collect behavioural data from users we know to be under {age}, and we "
            "never show them customised advertising."
        ),
        "cookies": (
            "Cookies are small files a website keeps in your browser so that it can recognise "
            "it later. We use them to make the service work and remember your choices and, "
            "with your consent, to personalise the service and to show advertising based on "
            "your visits and usage patterns."
        ),
        "cookies_refuse": (
            "You can accept all cookies, choose them by purpose, or refuse all optional ones; "
            "refusing optional cookies never limits the service. You can also block cookies "
            "in your browser's settings, but blocking necessary cookies may make features "
            "that need a login hard to use."
        ),
        "cookies_third": (
            "A third-party cookie is set by another company, whose own privacy policy also "
            "applies to it."
        ),
        "ads": (
            "We follow the Online Customised Advertising Privacy Guideline. With your consent, "
            "behavioural data is processed as follows."
        ),
        "ads_none": "We do not use customised advertising.",
        "security": "We take the measures below to keep personal data secure.",
        "security_none": "This policy does not list security measures.",
        "contacts": (
            "Questions, complaints and requests about personal data go to the privacy officer "
            "below, who answers without delay."
        ),
        "contacts_bodies": (
            "To report an infringement, or for advice or mediation, you can also turn to "
            "these bodies."
        ),
        "contacts_authority": (
            "You may also complain to the data protection authority where you live or work."
        ),
        "changes": (
            "We post every change on this page before it takes effect: at least 7 days "
            "ahead, and at least 30 days ahead for major changes to your rights, such as the "
            "items we collect or the purposes we use them for."
        ),
    },
    "ko": {
        "title": "개인정보처리방침",
        "title_of": "{name} 개인정보처리방침",
        "we": "회사",
        "contents": "목차",
        "languages": "다른 언어로 보기",
        "version": "버전",
        "announced": "공고일",
        "effective": "시행일",
        "item": "항목",
        "purpose": "목적",
        "category": "동의 구분",
        "when": "수집 시점",
        "required": "필수",
        "optional": "선택",
        "always_on": "항상 사용",
        "required_caption": "필수 항목",
        "optional_caption": "선택 항목",
        "automatic_caption": "서비스 이용 과정에서 자동으로 생성·수집되는 항목",
        "purposes_caption": "처리 목적과 근거",
        "history_caption": "방침 변경 이력",
        "basis": "처리 근거",
        "basis_necessary": "요청하신 서비스 제공에 필요",
        "basis_consent": "정보주체의 동의",
        "processor": "수탁자",
        "task": "위탁 업무",
        "country": "국가",
        "used_for": "관련 목적",
        "overseas": "국외 이전",
        "processors_caption": "수탁자와 위탁 업무",
        "recipient": "제공받는 자",
        "items": "제공 항목",
        "kept_by_recipient": "보유·이용 기간",
        "third_caption": "개인정보를 제공받는 자",
        "record": "보존 기록",
        "law": "근거 법령",
        "keep": "보존 기간",
        "retention_caption": "처리 목적별 보유 기간",
        "statutory_caption": "관계 법령에 따라 보존하는 기록",
        "until_purpose": "목적 달성 시까지",
        "cookie": "쿠키",
        "owner": "설치 주체",
        "lifetime": "보존 기간",
        "party": "구분",
        "first_party": "자사",
        "third_party": "제3자",
        "cookies_caption": "{title} 쿠키",
        "not_stated": "—",
        "none": "없음",
        "summary": "주요 내용",
        "major": "중요 변경",
        "yes": "예",
        "no": "아니오",
        "current": "현행",
        "current_summary": "현행 방침입니다.",
        "administrative": "관리적 조치",
        "technical": "기술적 조치",
        "physical": "물리적 조치",
        "officer": "개인정보 보호책임자",
        "controller": "개인정보처리자",
        "department": "담당 부서",
        "helpdesk": "고객센터",
        "phone": "전화",
        "email": "이메일",
        "address": "주소",
        "body": "기관",
        "handles": "업무",
        "website": "홈페이지",
        "officer_heading": "개인정보 보호책임자",
        "bodies_heading": "권익침해 구제방법",
        "bodies_caption": "신고·상담·분쟁조정 기관",
        "ads_data": "수집하는 행태정보",
        "ads_data_default": "웹 방문 기록, 이용 형태, 쿠키에 저장된 광고 식별자",
        "ads_method": "수집 방법",
        "ads_method_default": "이용자가 방문할 때 ‘쿠키’ 항목의 광고 쿠키와 태그로 자동 수집",
        "ads_by": "수집·이용하는 자",
        "ads_retention": "보유 기간",
        "ads_optout": "거부 방법",
        "ads_optout_text": (
            "맞춤형 광고 설정 페이지에서 끄거나, 동의를 철회하거나, 브라우저의 "
            "GPC(Global Privacy Control) 신호를 보내면 맞춤형 광고가 중단됩니다."
        ),
        "action_records": "내 동의 기록 보기",
        "action_export": "내 동의 기록 내려받기 (JSON)",
        "action_delete": "내 동의 기록 삭제",
        "action_withdraw": "선택 동의 모두 철회",
        "action_ads": "맞춤형 광고 설정",
        "action_preferences": "동의 항목 변경",
        "preferences_hint": (
            "모든 페이지에 표시되는 ‘{button}’ 버튼으로 언제든지 선택을 바꿀 수 있습니다."
        ),
        "post": "양식 POST 요청",
        "intro": (
            "{controller}은(는) 「개인정보 보호법」 제30조에 따라 어떤 개인정보를 왜 처리하는지, "
            "누구에게 처리를 맡기는지, 얼마 동안 보관하는지, 정보주체가 권리를 어떻게 행사할 수 "
            "있는지를 이 방침으로 알립니다."
        ),
        "collected": (
            "목적에 필요한 최소한의 개인정보만 수집합니다. 선택 항목은 부가 기능에만 쓰이며, "
            "동의하지 않아도 서비스 이용이 제한되지 않습니다."
        ),
        "collected_consent": (
            "개인정보는 미리 알리고 동의가 필요한 경우 동의를 받은 뒤에만 수집하며, 민감정보는 "
            "별도의 동의 없이 수집하지 않습니다."
        ),
        "purposes": (
            "개인정보는 아래 목적으로만 처리하며, 다른 목적으로 이용하려면 "
            "미리 동의를 다시 받습니다."
        ),
        "processors": (
            "아래와 같이 개인정보 처리 업무를 위탁합니다. 위탁 계약으로 위탁 업무 외 이용 금지, "
            "안전성 확보 조치, 업무 종료 시 반환·파기를 정하고, 수탁자가 이를 지키는지 감독합니다."
        ),
        "processors_none": "개인정보 처리 업무를 위탁하지 않습니다.",
        "third_none": (
            "개인정보를 제3자에게 제공하지 않습니다. 정보주체의 별도 동의가 있거나 법률에 "
            "특별한 규정이 있는 경우에만 제공합니다."
        ),
        "third_listed": (
            "정보주체의 별도 동의가 있거나 법률에 특별한 규정이 있는 경우에만 아래와 같이 "
            "개인정보를 제공합니다."
        ),
        "retention": (
            "개인정보는 처리 목적에 필요한 기간 동안만 보유하고 그 후 파기합니다. 법령에 따라 "
            "보존해야 하는 기록은 다른 정보와 분리하여 법령이 정한 기간 동안만 보관하며 다른 "
            "목적으로 이용하지 않습니다."
        ),
        "destruction_when": (
            "파기 시기: 처리 목적을 달성하거나 보유 기간이 끝나면 지체 없이 파기합니다."
        ),
        "destruction_how": (
            "파기 방법: 전자적 파일은 복구할 수 없는 기술적 방법으로 삭제하고, 종이 문서는 "
            "분쇄하거나 소각합니다."
        ),
        "rights": "정보주체는 언제든지 다음 권리를 행사할 수 있습니다.",
        "rights_agent": "법정대리인이나 위임을 받은 대리인을 통해서도 권리를 행사할 수 있습니다.",
        "rights_how": (
            "아래 링크를 이용하거나 개인정보 보호책임자에게 서면, 전화, 이메일로 요청하시면 "
            "지체 없이 조치합니다."
        ),
        "children": (
            "만 {age}세 미만 아동의 개인정보는 법정대리인의 동의를 확인한 뒤에만 수집합니다. "
            "법정대리인은 아동의 개인정보 열람, 정정, 삭제, 처리정지를 요구할 수 있습니다."
        ),
        "children_ads": (
            "만 {age}세 미만으로 알고 있는 이용자의 행태정보는 수집하지 않으며, 맞춤형 광고를 "
            "제공하지 않습니다."
        ),
        "cookies": (
            "쿠키는 웹사이트가 이용자의 브라우저에 저장하는 작은 파일로, 다시 방문했을 때 "
            "브라우저를 알아보는 데 쓰입니다. 서비스 운영과 선택 사항 저장에 쓰며, 동의하신 "
            "경우 맞춤형 서비스와 방문 기록·이용 형태에 기반한 광고 제공에도 씁니다."
        ),
        "cookies_refuse": (
            "모든 쿠키 허용, 목적별 선택, 선택 쿠키 모두 거부 중에서 고를 수 있으며, 선택 쿠키를 "
            "거부해도 서비스 이용은 제한되지 않습니다. 웹브라우저 설정에서 쿠키 저장을 막을 수도 "
            "있지만, 필수 쿠키를 막으면 로그인이 필요한 일부 기능을 이용하기 어려울 수 있습니다."
        ),
        "cookies_third": (
            "제3자 쿠키는 다른 회사가 설치하며, 그 회사의 개인정보처리방침도 적용됩니다."
        ),
        "ads": (
            "「온라인 맞춤형 광고 개인정보보호 가이드라인」에 따라, 동의하신 경우 다음과 같이 "
            "행태정보를 처리합니다."
        ),
        "ads_none": "맞춤형 광고를 하지 않습니다.",
        "security": "개인정보의 안전성 확보를 위해 다음 조치를 하고 있습니다.",
        "security_none": "이 방침에 기재된 안전성 확보 조치가 없습니다.",
        "contacts": (
            "개인정보 관련 문의, 불만 처리, 피해 구제는 아래 개인정보 보호책임자에게 요청하실 수 "
            "있으며, 지체 없이 답변합니다."
        ),
        "contacts_bodies": (
            "개인정보 침해에 대한 신고나 상담, 분쟁 조정이 필요하면 "
            "아래 기관에도 문의할 수 있습니다."
        ),
        "contacts_authority": "거주지나 근무지의 개인정보 감독기관에 민원을 제기할 수도 있습니다.",
        "changes": (
            "이 방침이 바뀌면 시행 7일 전부터 이 페이지에 공지하며, 수집 항목이나 이용 목적처럼 "
            "정보주체의 권리에 중요한 변경은 시행 30일 전부터 공지합니다."
        ),
    },
}

RIGHTS: dict[str, tuple[str, ...]] = {
    "en": (
        "See the personal data we hold about you, and get a copy of it.",
        "Have it corrected; until the correction is done we neither use nor provide the "
        "data concerned.",
        "Have it deleted, or have its processing stopped.",
        "Withdraw your consent at any time, as easily as you gave it.",
        "Leave the service.",
        "Refuse commercial advertising messages; we send none without your prior consent.",
    ),
    "ko": (
        "개인정보 열람 및 사본 요구",
        "오류 정정 요구 (정정이 끝날 때까지 해당 개인정보를 이용하거나 제공하지 않습니다)",
        "삭제 및 처리정지 요구",
        "동의 철회 (동의할 때처럼 쉽게, 언제든지)",
        "회원 탈퇴",
        "광고성 정보 수신 거부 (사전 동의 없이 보내지 않습니다)",
    ),
}

# What a service generates or collects on its own while it is used; the notice
# lists these when a policy has no ``[collected] automatic`` list.
AUTOMATIC_ITEMS: dict[str, tuple[str, ...]] = {
    "en": (
        "Device information (model, device identifier, operating system)",
        "IP address",
        "Cookies",
        "Records of fraudulent use",
        "Service-use records (access times and pages used)",
    ),
    "ko": (
        "기기 정보 (모델명, 기기 식별값, 운영체제)",
        "IP 주소",
        "쿠키",
        "부정 이용 기록",
        "서비스 이용 기록 (접속 일시, 이용 내역)",
    ),
}


# Each language named in itself, for the links to the notice in other languages (a
# language not listed is shown by its code).
LANGUAGE_NAMES: dict[str, str] = {
    "ko": "한국어",
    "en": "English",
    "ja": "日本語",
    "zh": "中文",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
}

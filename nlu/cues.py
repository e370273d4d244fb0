"""Hand-written cue and concept tokens added to the classifier's word view.

Two kinds, over the normalised, entity-masked text:

* boundary cues mark what the dialogue's routing depends on and n-grams learn poorly from a thousand lines:
  money already gone, a secret already handed over, "not yet" (nothing done), a question, a report. The three
  harm cues come from :mod:`nlu.harm`, the same rules the urgent path reads, so negation and its scope
  ("chưa mất tiền", "suýt nữa thì chuyển", "không đưa OTP") mean the same to the classifier and the dialogue;
* concept tokens group synonyms ("hủy", "thoát", "cancel", "never mind" → ``zk_cancel``) so a word seen in
  no training line of an intent still pulls towards it. They were written from what each intent means, not
  from the evaluation split.
"""

from __future__ import annotations

import re

from nlu.harm import read_harm

_CUES: dict[str, str] = {
    "zcue_secret": r"\b(?:otp|ma xac (?:nhan|thuc)|mat khau|ma pin|so the|cccd|can cuoc|cmnd|zotp|zcard)\b",
    "zcue_question": (
        r"\?|\b(?:co (?:phai|that|dung|an toan|tin|nen)|that (?:khong|hay|ko)|hay gia|lua (?:dao )?khong|"
        r"phai khong|dung khong|is (?:this|it)|legit|real)\b"
    ),
    "zcue_report": r"\b(?:bao cao|to cao|to giac|trinh bao|phan anh|report|khai bao|bao lai)\b",
    "zcue_where": r"\b(?:o dau|cho nao|dau la|nao la|tai dau|where|which)\b",
    # "qua số nào", "trang web nào", "cơ quan nào": asking *where to go*, not reporting here.
    "zcue_which": r"\b(?:so|kenh|trang|web|website|dia chi|co quan|noi|cho|don vi|tong dai|bo phan) nao\b",
    # "… nữa" after a stop word: "không báo nữa", "thôi khỏi điền nữa" — the parent wants out.
    "zcue_stop": r"\b(?:khong|thoi|khoi|bo|dung|ngung|huy|chang)\b.*\bnua\b|\b(?:dung|ngung|huy|bo) bao cao\b",
    # A general question about how things work, with no event of the parent's own in it.
    "zcue_general": r"\b(?:tai sao|vi sao|lam sao|the nao|khi nao|co bao gio|bao gio cung|nhu the nao|how|why)\b",
}

_CONCEPTS: dict[str, str] = {
    "zk_greet": "chao|xin chao|kinh chao|hello|helo|hi|hey|alo|halo|he lo|yo|good morning|good afternoon|good evening",
    "zk_bye": (
        "tam biet|bye|bai bai|goodbye|good bye|good night|goodnight|see you|see ya|hen gap lai|ngu ngon|pp|bb|"
        "out|off|log out|di day|catch you later|thoi chao|chao nhe|chao nha|di ngu|di lam|lan sau|hom khac|"
        "luc khac|hen sau|xong viec|ket thuc|nghi day"
    ),
    "zk_thanks": "cam on|camon|thank|thanks|thank you|tks|thks|ty|appreciate|biet on|da ta|c on",
    "zk_yes": (
        "vang|u|uh|um|uhm|ua|uk|ok|oke|okay|yes|yep|yup|yeah|chuan|dong y|chinh xac|sure|correct|right|exactly|"
        "xac nhan|chac chan"
    ),
    "zk_no": "sai|nham|no|nope|wrong|incorrect|dau co|lam gi co|chang|not|dau phai",
    "zk_cancel": (
        "huy|huy bo|dung lai|dung|ngung|stop|cancel|thoat|quit|exit|abort|reset|bo qua|bo di|quay lai|tro ve|"
        "ve menu|menu chinh|trang chu|never mind|forget it|back|khoi|doi y|lam lai"
    ),
    "zk_help": (
        "huong dan|tro giup|giup do|giup voi|help|menu|chuc nang|cach dung|su dung|hdsd|guide|instructions|"
        "usage|lua chon|tuy chon|khong hieu|chua hieu|roi qua|bat dau tu dau|options"
    ),
    "zk_human": (
        "nguoi that|can bo|nhan vien|tu van vien|human|agent|operator|admin|person|staff|officer|tong dai vien|"
        "goi lai|chuyen vien|dieu tra vien|truc tiep"
    ),
    "zk_privacy": (
        "bao mat|an danh|giau ten|danh tinh|du lieu|rieng tu|privacy|anonymous|xoa|lo|ma hoa|luu|chia se|data|"
        "tra thu|tra dua|bi mat|giu kin|ten that|cong khai|de lai|ghi am|ai biet|biet toi|xem duoc"
    ),
    "zk_contact": (
        "duong day nong|hotline|dia chi|tru so|lien he|email|113|111|156|5656|o dau|so nao|so may|contact|"
        "police station|tinnhiemmang|chongluadao|tiep dan|truc ban|tong dai"
    ),
    "zk_signs": (
        "dau hieu|nhan biet|phan biet|thu doan|chieu|meo|canh giac|phong tranh|phong chong|nhan dien|nhan ra|"
        "signs|recognize|avoid|tips|loi khuyen|kich ban|hinh thuc|luu y"
    ),
    "zk_official": (
        "chinh thuc|chinh chu|chinh thong|store|ch play|google play|app store|official|download|tai o dau|"
        "cai o dau|chuan"
    ),
    "zk_oos": (
        "diem|hoc phi|thoi tiet|mua|nang|lanh|bong da|tran|bai tap|gia|phim|nhac|hat|nau|an|lich thi|khai giang|"
        "hoc them|joke|weather|football|movie|song|truyen|cuoi|xo so|game|bai van|bai tho|mon toan|mon van|"
        "tieng anh|hop phu huynh|nghi he|nghi tet"
    ),
    "zk_link": ("link|duong dan|duong link|trang|trang web|website|web|url|ten mien|domain|apk|file|tep|site|zurl|qr"),
    "zk_app": "app|ung dung|phan mem|zapp",
    "zk_call": "goi|cuoc goi|call|called|xung|tu xung|goi dien",
    "zk_money": "tien|chuyen khoan|trieu|nghin|momo|zmoney|so du|giao dich",
}

_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    *((name, re.compile(rx)) for name, rx in _CUES.items()),
    *((name, re.compile(rf"(?<!\w)(?:{words})(?!\w)")) for name, words in _CONCEPTS.items()),
)


def cue_tokens(normalized: str) -> list[str]:
    """The cue and concept tokens that fire on normalised, entity-masked text."""
    harm = read_harm(normalized)
    tokens = [name for name, on in (("zcue_money_gone", harm.money), ("zcue_gave", bool(harm.shared)),
                                    ("zcue_not_done", harm.denied), ("zcue_asks_harm", harm.questioned)) if on]
    return tokens + [name for name, rx in _RULES if rx.search(normalized)]

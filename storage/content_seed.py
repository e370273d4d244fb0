"""What a fresh install starts with (``content.seed_samples``): the common questions parents ask, and a
clearly marked sample school directory (ids ``MAU-…``, names ending "(MẪU)") until the province loads its
own list. The official e-contact-book domains ship in ``handlers/checks/data/official_domains.yaml``.

Seeding happens once per database (a flag in ``content_meta``) and never over data an admin entered.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from storage import audit
from storage.content_schema import content_meta, faq_entries
from storage.reference import SchoolRecord, upsert_schools
from storage.reference_schema import schools

SEED_FLAG = "seed.v1"
SAMPLE_PREFIX = "MAU-"
SAMPLE_FILE = Path(__file__).parent / "content_data" / "sample_schools.csv"
SEED = "seed"

# (question, answer, keywords, language). {police_name} and {province_hotline} are filled in when shown.
FAQ: tuple[tuple[str, str, str, str], ...] = (
    ("App Sổ liên lạc điện tử thật tải ở đâu?",
     "Chỉ tải từ App Store (iPhone) hoặc Google Play (Android), không bao giờ từ đường link trong tin nhắn hay "
     "cuộc gọi. Ứng dụng chính thức: vnEdu (vnedu.vn), SMAS (smas.edu.vn), K12Online (k12online.vn), eNetViet "
     "(enetviet.com), MISA EMIS (misa.vn). Nhà trường sẽ thông báo ứng dụng nào qua họp phụ huynh hoặc giáo viên "
     "chủ nhiệm trực tiếp.",
     "sổ liên lạc\ntải ở đâu\ntải app\ncài app\nứng dụng thật\napp thật\nchính thức\ntải về", "vi"),
    ("Nhà trường có gọi điện xin mã OTP không?",
     "Không bao giờ. Nhà trường, giáo viên hay công an KHÔNG BAO GIỜ hỏi mã OTP, mật khẩu, số thẻ hay bảo chuyển "
     "tiền qua điện thoại hoặc tin nhắn. Ai hỏi những thứ đó là kẻ lừa đảo: tắt máy và gọi lại cho trường theo số "
     "bạn đã biết.",
     "mã otp\notp\nnhà trường\ngiáo viên\ncó hỏi\nxin mã\ngọi điện", "vi"),
    ("Làm sao biết một đường link có phải của nhà trường?",
     "Bấm “Kiểm tra đường link / ứng dụng” trong menu và dán link vào: chúng tôi so với tên miền chính thức và "
     "danh sách lừa đảo. Đuôi .gov.vn cũng có thể bị giả mạo; đừng mở link lạ và đừng cài file .apk.",
     "đường link\nlink\ncủa trường\ncó phải\nlàm sao biết\nkiểm tra", "vi"),
    ("Tôi báo số điện thoại lừa đảo cho nhà mạng ở đâu?",
     "Gọi 156 hoặc nhắn tin tới 5656 để báo số điện thoại, tin nhắn rác và lừa đảo. Website lừa đảo: báo tại "
     "tinnhiemmang.vn hoặc chongluadao.vn. Và hãy báo cho {police_name} ngay trong chat này (“Báo cáo”).",
     "nhà mạng\nbáo số\nsố lừa đảo\n156\n5656\nbáo ở đâu\nchặn số", "vi"),
    ("Làm mã định danh điện tử cho con có phải làm qua điện thoại không?",
     "Không. Mã định danh và tài khoản VNeID của trẻ em làm tại Công an xã / phường hoặc trên ứng dụng VNeID "
     "của cha mẹ. Không ai được gọi điện bảo bạn cài ứng dụng hay đọc mã để “xác nhận mã định danh cho học sinh”.",
     "mã định danh\ndinh danh\nvneid\nhọc sinh\nqua điện thoại\nxác nhận\ncho con", "vi"),
    ("Where do I download the real e-contact book app?",
     "Only from the App Store (iPhone) or Google Play (Android), never from a link in a message or a call. The "
     "official apps: vnEdu (vnedu.vn), SMAS (smas.edu.vn), K12Online (k12online.vn), eNetViet (enetviet.com), "
     "MISA EMIS (misa.vn). The school tells parents which one at a meeting or through the homeroom teacher.",
     "contact book\ne-contact\ndownload\nreal app\nofficial app\nwhere", "en"),
    ("Does the school ever ask for an OTP code?",
     "Never. The school, teachers and the police NEVER ask for an OTP, a password, a card number or a money "
     "transfer by phone or message. Whoever asks is a scammer: hang up and call the school on the number you "
     "already know.",
     "otp\ncode\nschool\nask for\npassword", "en"),
)


def seeded(conn: sa.Connection) -> bool:
    return conn.execute(sa.select(content_meta.c.value).where(content_meta.c.key == SEED_FLAG)).first() is not None


def seed(conn: sa.Connection, *, now: datetime, sample_schools: Sequence[SchoolRecord]) -> dict[str, int]:
    """Seed an install once: FAQ entries when there are none, the sample directory (``SAMPLE_FILE`` as parsed
    by the directory import) when it is empty."""
    if seeded(conn):
        return {}
    done = {"faq": 0, "schools": 0}
    if conn.execute(sa.select(faq_entries.c.id).limit(1)).first() is None:
        conn.execute(sa.insert(faq_entries), [
            {"question": q, "answer": a, "keywords": k, "language": lang, "enabled": True, "position": i,
             "updated_by": SEED, "updated_at": now} for i, (q, a, k, lang) in enumerate(FAQ)])
        done["faq"] = len(FAQ)
    if conn.execute(sa.select(schools.c.id).limit(1)).first() is None:
        upsert_schools(conn, records=sample_schools, now=now)
        done["schools"] = len(sample_schools)
    conn.execute(sa.insert(content_meta), {"key": SEED_FLAG, "value": now.isoformat()})
    audit.record(conn, actor="system", action="content.seed", subject="content", now=now,
                 detail=f"{done['faq']} FAQ entries, {done['schools']} sample schools")
    return done


def sample_count(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).where(schools.c.id.like(f"{SAMPLE_PREFIX}%"))).scalar_one())


def clear_samples(conn: sa.Connection, *, actor: str, now: datetime) -> int:
    """Remove the sample schools (the province loaded its own list)."""
    gone = conn.execute(sa.delete(schools).where(schools.c.id.like(f"{SAMPLE_PREFIX}%"))).rowcount
    if gone:
        audit.record(conn, actor=actor, action="directory.clear_samples", subject="directory", now=now,
                     detail=f"{gone} sample schools")
    return int(gone)
